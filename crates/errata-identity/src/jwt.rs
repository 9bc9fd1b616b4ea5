//! Sessions and tokens as JWTs: HS256 only, pinned, so `alg: none` and
//! algorithm confusion (an RS256 header over the HMAC key) are refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use errata_catalog::Error;
use errata_errors::security;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// `iss` and `aud` of every token.
pub const ISSUER: &str = "errata";
/// The audience tokens are for.
pub const AUDIENCE: &str = "errata";

/// What a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A user's session, from login.
    Session,
    /// An API token a user created.
    Api,
    /// An OAuth client's access token.
    Client,
}

/// The claims errata puts in its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user the token acts as, by id.
    pub sub: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Not before (seconds).
    pub nbf: i64,
    /// Expires at (seconds).
    pub exp: i64,
    /// The token's id: the API token's id, or a random id.
    pub jti: String,
    /// What the token stands for.
    pub knd: Kind,
    /// The generation of the user (sessions, API tokens) or client (client
    /// tokens) it was issued under; revoking bumps the generation. A user's
    /// generation starts at a random number, so a token cannot match a
    /// later row that somehow got the same id.
    #[serde(default, rename = "gen")]
    pub generation: i64,
    /// Space-separated permissions the token is limited to (API and client
    /// tokens); sessions carry the user's groups' permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OAuth client, for client tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The owner's generation, for client tokens: a client's tokens end
    /// with the owner's sessions, as API tokens do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ugen: Option<i64>,
    /// When the login that started a session was; renewals keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<i64>,
}

/// Signs and checks tokens with one HMAC key.
#[derive(Clone)]
pub struct Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(HS256)")
    }
}

/// Longest bearer token looked at; anything longer is not errata's.
pub const MAX_TOKEN_LEN: usize = 4096;

impl Signer {
    /// A signer with `key` (at least 32 bytes).
    pub fn new(key: &[u8]) -> Signer {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Signer {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
        }
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signs any serializable claims")
    }

    /// Checks a bearer token's shape, algorithm, signature and times.
    ///
    /// Not a JWT at all is `security.token_malformed` (400, as GraphCMS);
    /// a JWT that is not valid here is `token_invalid`, `token_expired` or
    /// `token_not_yet_valid` (401).
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(security::token_malformed());
        }
        let alg = header_alg(token).ok_or_else(security::token_malformed)?;
        if alg != "HS256" {
            let shown: String = alg.chars().take(16).collect();
            return Err(security::token_invalid(format!(
                "its algorithm \"{shown}\" is not accepted"
            )));
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => security::token_expired(),
                ErrorKind::ImmatureSignature => security::token_not_yet_valid(),
                ErrorKind::InvalidSignature => {
                    security::token_invalid("its signature does not match")
                }
                ErrorKind::InvalidAudience => {
                    security::token_invalid("it was issued for another audience")
                }
                ErrorKind::InvalidIssuer => {
                    security::token_invalid("it was issued by another issuer")
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    let claim: String = claim.chars().take(16).collect();
                    security::token_invalid(format!("the claim \"{claim}\" is missing"))
                }
                _ => security::token_invalid("its claims are not errata's"),
            })
    }
}

/// The `alg` of a token shaped like a JWS: three base64url parts, the first
/// a JSON object with a string `alg`.
fn header_alg(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || header.is_empty() || payload.is_empty() {
        return None;
    }
    let is_b64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !is_b64(payload) || !is_b64(signature) {
        return None;
    }
    #[derive(Deserialize)]
    struct JoseHeader {
        alg: String,
    }
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    serde_json::from_slice::<JoseHeader>(&bytes)
        .ok()
        .map(|h| h.alg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims(now: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "7".into(),
            iat: now,
            nbf: now,
            exp: now + 60,
            jti: "j".into(),
            knd: Kind::Session,
            generation: 0,
            scope: None,
            cid: None,
            ugen: None,
            auth: None,
        }
    }

    fn now() -> i64 {
        crate::now()
    }

    #[test]
    fn round_trip() {
        let signer = Signer::new(&[7; 32]);
        let c = claims(now());
        assert_eq!(signer.verify(&signer.sign(&c)).unwrap(), c);
    }

    #[test]
    fn refusals() {
        let signer = Signer::new(&[7; 32]);
        let other = Signer::new(&[8; 32]);
        let id = |r: Result<Claims, Error>| r.unwrap_err().id();
        assert_eq!(id(signer.verify("abc")), "security.token_malformed");
        assert_eq!(id(signer.verify("a.b.c")), "security.token_malformed");
        assert_eq!(
            id(signer.verify(&other.sign(&claims(now())))),
            "security.token_invalid"
        );
        let mut expired = claims(now() - 3600);
        expired.exp = now() - 600;
        assert_eq!(
            id(signer.verify(&signer.sign(&expired))),
            "security.token_expired"
        );
        let mut early = claims(now());
        early.nbf = now() + 600;
        assert_eq!(
            id(signer.verify(&signer.sign(&early))),
            "security.token_not_yet_valid"
        );
        let mut audience = claims(now());
        audience.aud = "someone-else".into();
        assert_eq!(
            id(signer.verify(&signer.sign(&audience))),
            "security.token_invalid"
        );
        // alg: none, with an empty signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(now())).unwrap())
        );
        let err = signer.verify(&none).unwrap_err();
        assert_eq!(err.id(), "security.token_invalid");
        assert!(err.message().contains("\"none\""), "{}", err.message());
    }

    proptest! {
        #[test]
        fn any_text_is_refused_without_panicking(token in ".{0,300}") {
            let signer = Signer::new(&[7; 32]);
            prop_assert!(signer.verify(&token).is_err());
        }

        #[test]
        fn any_three_part_token_is_refused(a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,60}") {
            let signer = Signer::new(&[7; 32]);
            let token = format!("{a}.{b}.{c}");
            prop_assert!(signer.verify(&token).is_err());
        }
    }
}
