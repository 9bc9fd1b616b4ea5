-- login: the login mutation with the benchmark user's password, each
-- request one argon2id verification and a new session
wrk.method = "POST"
wrk.body = "{\"query\":\"mutation { authentication { login(username: \\\"bench@example.com\\\", password: \\\"bench password 1\\\") { responseResult { succeeded } jwt } } }\"}"
wrk.headers["Content-Type"] = "application/json"
