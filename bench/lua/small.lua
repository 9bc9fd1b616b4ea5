-- small: a static POST, so wrk spends nothing per request
wrk.method = "POST"
wrk.body = "{\"query\":\"{ catalog { name } }\"}"
wrk.headers["Content-Type"] = "application/json"
