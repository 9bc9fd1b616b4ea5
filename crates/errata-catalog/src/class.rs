//! The fixed sets a catalog entry chooses from: its class, its advice, and
//! the catalog's numbering scheme.
//!
//! The class is the only thing that decides an error's HTTP status and its
//! GraphQL `extensions.code`, so two errors of one class can never disagree
//! on the wire.

use std::fmt;

macro_rules! classes {
    ($($variant:ident = $name:literal, $status:literal, $gql:literal, $advice:ident, $doc:literal;)*) => {
        /// What kind of failure an error is. Fixes the HTTP status and the
        /// GraphQL `extensions.code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Class {
            $(#[doc = $doc] $variant,)*
        }

        impl Class {
            /// Every class, in the order the reference documents them.
            pub const ALL: &'static [Class] = &[$(Class::$variant,)*];

            /// The name written in catalog files (`NotFound`).
            pub const fn name(self) -> &'static str {
                match self { $(Class::$variant => $name,)* }
            }

            /// The HTTP status an error of this class is answered with.
            pub const fn status(self) -> u16 {
                match self { $(Class::$variant => $status,)* }
            }

            /// The GraphQL `extensions.code` of an error of this class.
            pub const fn graphql_code(self) -> &'static str {
                match self { $(Class::$variant => $gql,)* }
            }

            /// What a client should do when no entry says otherwise.
            pub const fn default_advice(self) -> Advice {
                match self { $(Class::$variant => Advice::$advice,)* }
            }

            /// One line on when the class applies.
            pub const fn summary(self) -> &'static str {
                match self { $(Class::$variant => $doc,)* }
            }

            /// Looks a class up by its catalog name.
            pub fn from_name(name: &str) -> Option<Class> {
                match name { $($name => Some(Class::$variant),)* _ => None }
            }
        }
    };
}

classes! {
    BadRequest = "BadRequest", 400, "BAD_USER_INPUT", FixInput,
        "The request or one of its arguments is invalid.";
    Unauthenticated = "Unauthenticated", 401, "UNAUTHENTICATED", Reauthenticate,
        "Credentials are missing, expired, revoked or invalid.";
    Forbidden = "Forbidden", 403, "FORBIDDEN", ContactSupport,
        "The caller is known but lacks a permission.";
    NotFound = "NotFound", 404, "NOT_FOUND", FixInput,
        "The requested resource does not exist.";
    MethodNotAllowed = "MethodNotAllowed", 405, "METHOD_NOT_ALLOWED", FixInput,
        "The HTTP method is not allowed for this endpoint or operation.";
    NotAcceptable = "NotAcceptable", 406, "NOT_ACCEPTABLE", FixInput,
        "None of the media types the client accepts can be produced.";
    Conflict = "Conflict", 409, "CONFLICT", FixInput,
        "The request conflicts with the current state of a resource.";
    Precondition = "Precondition", 412, "PRECONDITION_FAILED", FixInput,
        "A precondition of the operation is not met.";
    SizeLimit = "SizeLimit", 413, "PAYLOAD_TOO_LARGE", FixInput,
        "The request exceeds a configured size limit.";
    UnsupportedMediaType = "UnsupportedMediaType", 415, "UNSUPPORTED_MEDIA_TYPE", FixInput,
        "The request body has a media type the endpoint does not accept.";
    TooManyRequests = "TooManyRequests", 429, "TOO_MANY_REQUESTS", RetryAfter,
        "The client exceeded a rate limit.";
    Partial = "Partial", 206, "PARTIAL_FAILURE", FixInput,
        "Part of the operation succeeded and part of it failed.";
    Internal = "Internal", 500, "INTERNAL_SERVER_ERROR", ContactSupport,
        "An unexpected failure inside the server.";
    ExternalService = "ExternalService", 500, "EXTERNAL_SERVICE_ERROR", RetryWithBackoff,
        "A service the server depends on failed.";
    ServiceUnavailable = "ServiceUnavailable", 503, "SERVICE_UNAVAILABLE", RetryAfter,
        "The server cannot take the request right now.";
    GatewayTimeout = "GatewayTimeout", 504, "GATEWAY_TIMEOUT", RetryWithBackoff,
        "The operation did not finish in time.";
    GraphqlParseFailed = "GraphqlParseFailed", 400, "GRAPHQL_PARSE_FAILED", FixInput,
        "The GraphQL document is not syntactically valid.";
    GraphqlValidationFailed = "GraphqlValidationFailed", 400, "GRAPHQL_VALIDATION_FAILED", FixInput,
        "The GraphQL document is not valid against the schema.";
    PersistedQueryNotFound = "PersistedQueryNotFound", 400, "PERSISTED_QUERY_NOT_FOUND", FixInput,
        "A persisted query hash is unknown; send the full document.";
    OperationResolutionFailure = "OperationResolutionFailure", 400, "OPERATION_RESOLUTION_FAILURE", FixInput,
        "The operation to execute cannot be determined from the document.";
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How Kuzzle's error classes map onto errata's, keeping Kuzzle's status.
pub const KUZZLE_CLASSES: &[(&str, Class)] = &[
    ("BadRequestError", Class::BadRequest),
    ("UnauthorizedError", Class::Unauthenticated),
    ("ForbiddenError", Class::Forbidden),
    ("NotFoundError", Class::NotFound),
    ("PreconditionError", Class::Precondition),
    ("SizeLimitError", Class::SizeLimit),
    ("TooManyRequestsError", Class::TooManyRequests),
    ("PartialError", Class::Partial),
    ("MultipleErrorsError", Class::BadRequest),
    ("InternalError", Class::Internal),
    ("PluginImplementationError", Class::Internal),
    ("ExternalServiceError", Class::ExternalService),
    ("ServiceUnavailableError", Class::ServiceUnavailable),
    ("GatewayTimeoutError", Class::GatewayTimeout),
];

/// Maps a Kuzzle class name onto an errata class.
pub fn kuzzle_class(name: &str) -> Option<Class> {
    KUZZLE_CLASSES
        .iter()
        .find(|(kuzzle, _)| *kuzzle == name)
        .map(|(_, class)| *class)
}

/// What the client should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Advice {
    /// Change the request; sending it again unchanged fails again.
    FixInput,
    /// Get new credentials, then retry.
    Reauthenticate,
    /// Wait for the delay the response gives (`Retry-After`), then retry.
    RetryAfter,
    /// Retry with exponential backoff.
    RetryWithBackoff,
    /// Nothing the client can change; report it with the request id.
    ContactSupport,
}

impl Advice {
    /// Every advice, in documentation order.
    pub const ALL: &'static [Advice] = &[
        Advice::FixInput,
        Advice::Reauthenticate,
        Advice::RetryAfter,
        Advice::RetryWithBackoff,
        Advice::ContactSupport,
    ];

    /// The name written in catalog files (`fix-input`).
    pub const fn name(self) -> &'static str {
        match self {
            Advice::FixInput => "fix-input",
            Advice::Reauthenticate => "reauthenticate",
            Advice::RetryAfter => "retry-after",
            Advice::RetryWithBackoff => "retry-with-backoff",
            Advice::ContactSupport => "contact-support",
        }
    }

    /// The sentence rendered in references.
    pub const fn text(self) -> &'static str {
        match self {
            Advice::FixInput => "Fix the input, then send the request again.",
            Advice::Reauthenticate => "Authenticate again to get a new token, then retry.",
            Advice::RetryAfter => {
                "Retry after the delay given by the Retry-After header or extensions.retryAfter."
            }
            Advice::RetryWithBackoff => "Retry with exponential backoff.",
            Advice::ContactSupport => "Contact support and quote the request id.",
        }
    }

    /// Looks an advice up by its catalog name.
    pub fn from_name(name: &str) -> Option<Advice> {
        Advice::ALL.iter().copied().find(|a| a.name() == name)
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a catalog numbers its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Wiki.js style: domain N owns codes N001..=N999.
    Ranges,
    /// Kuzzle style: `domain << 24 | subdomain << 16 | error`.
    Packed,
}

impl Scheme {
    /// The name written in the manifest.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::Ranges => "ranges",
            Scheme::Packed => "packed",
        }
    }

    /// Looks a scheme up by its manifest name.
    pub fn from_name(name: &str) -> Option<Scheme> {
        match name {
            "ranges" => Some(Scheme::Ranges),
            "packed" => Some(Scheme::Packed),
            _ => None,
        }
    }

    /// Writes a code the way this scheme's references show it.
    pub fn format_code(self, code: u32) -> String {
        match self {
            Scheme::Ranges => code.to_string(),
            Scheme::Packed => format!("{code:#010x}"),
        }
    }
}

/// Packs a Kuzzle-style code.
pub const fn pack(domain: u32, subdomain: u32, error: u32) -> u32 {
    (domain << 24) | (subdomain << 16) | error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_fix_status_and_graphql_code() {
        assert_eq!(Class::NotFound.status(), 404);
        assert_eq!(Class::NotFound.graphql_code(), "NOT_FOUND");
        assert_eq!(Class::BadRequest.graphql_code(), "BAD_USER_INPUT");
        assert_eq!(Class::Partial.status(), 206);
        assert_eq!(Class::GatewayTimeout.status(), 504);
        for class in Class::ALL {
            assert_eq!(Class::from_name(class.name()), Some(*class));
        }
    }

    #[test]
    fn every_kuzzle_class_keeps_kuzzle_status() {
        let kuzzle_status = [
            ("BadRequestError", 400),
            ("UnauthorizedError", 401),
            ("ForbiddenError", 403),
            ("NotFoundError", 404),
            ("PreconditionError", 412),
            ("SizeLimitError", 413),
            ("TooManyRequestsError", 429),
            ("PartialError", 206),
            ("MultipleErrorsError", 400),
            ("InternalError", 500),
            ("PluginImplementationError", 500),
            ("ExternalServiceError", 500),
            ("ServiceUnavailableError", 503),
            ("GatewayTimeoutError", 504),
        ];
        for (name, status) in kuzzle_status {
            assert_eq!(
                kuzzle_class(name).map(Class::status),
                Some(status),
                "{name}"
            );
        }
    }

    #[test]
    fn packed_codes_are_written_as_eight_hex_digits() {
        assert_eq!(Scheme::Packed.format_code(pack(1, 1, 11)), "0x0101000b");
        assert_eq!(Scheme::Packed.format_code(pack(0, 0, 1)), "0x00000001");
        assert_eq!(Scheme::Ranges.format_code(6003), "6003");
    }
}
