-- fieldsuccess: the resolver-error operation with a key that exists, so the
-- same fields succeed; the error path is compared with this one
wrk.method = "POST"
wrk.body = "{\"query\":\"{ catalog { name error(key: \\\"auth.generic_error\\\") { id } } }\"}"
wrk.headers["Content-Type"] = "application/json"
