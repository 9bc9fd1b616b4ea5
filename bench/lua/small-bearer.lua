-- small-bearer: the small query with `Authorization: Bearer $TOKEN` (a valid
-- session for the JWT row, a tampered one for the invalid-token row)
wrk.method = "POST"
wrk.body = "{\"query\":\"{ catalog { name } }\"}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
