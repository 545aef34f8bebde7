-- twilio_post.lua: makes wrk send what nudge's Twilio channel sends: a POST
-- of the form body (To, From, Body) with HTTP Basic auth to the Messages
-- endpoint given as wrk's URL. bench/run.sh sets both from the environment:
--   BENCH_FORM  the form body, as printed by `throughput -F`
--   BENCH_AUTH  base64 of AccountSid:AuthToken
wrk.method = "POST"
wrk.body = os.getenv("BENCH_FORM") or error("BENCH_FORM is not set")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. (os.getenv("BENCH_AUTH") or error("BENCH_AUTH is not set"))
wrk.headers["Accept"] = "*/*"
