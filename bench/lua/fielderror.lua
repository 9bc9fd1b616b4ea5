-- fielderror: a static POST, so wrk spends nothing per request
wrk.method = "POST"
wrk.body = "{\"query\":\"{ catalog { name error(key: \\\"nope\\\") { id } } }\"}"
wrk.headers["Content-Type"] = "application/json"
