-- wrk script: POST a form body with HTTP Basic client authentication (client_secret_basic).
-- Environment: BENCH_BASIC (base64 of "client_id:client_secret"),
--              BENCH_BODY  (default "grant_type=client_credentials&scope=api%3Aread").
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or "grant_type=client_credentials&scope=api%3Aread"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local basic = os.getenv("BENCH_BASIC")
if basic and basic ~= "" then
  wrk.headers["Authorization"] = "Basic " .. basic
end
