-- wrk script: RFC 7662 introspection of one valid access token, client_secret_basic.
-- Environment: BENCH_BASIC (base64 of "client_id:client_secret"), BENCH_TOKEN (the token).
wrk.method = "POST"
wrk.body = "token=" .. (os.getenv("BENCH_TOKEN") or "") .. "&token_type_hint=access_token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. (os.getenv("BENCH_BASIC") or "")
