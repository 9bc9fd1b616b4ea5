-- token: the client credentials grant, client authenticated with HTTP Basic
-- ($BASIC is base64 of client_id:client_secret)
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
