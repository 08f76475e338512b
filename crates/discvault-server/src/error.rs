//! Errors as the API answers them: an HTTP status and the CLI's JSON error
//! (`{"error": text, "kind": kind}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

/// The body of an error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// The kind of error, for a program (`invalid`, `not_found`, `busy`, `unauthorized`,
    /// `forbidden`, `catalog`, ...).
    pub kind: String,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "credentials missing, unknown, expired or revoked (Authorization: Bearer dvt_..., or a session cookie)",
        )
    }
}

impl From<discvault::Error> for ApiError {
    fn from(e: discvault::Error) -> ApiError {
        use discvault::Error as E;
        let status = match &e {
            E::Invalid { .. } | E::UnknownMedia(_) | E::UnknownDigest(_) | E::BadRows { .. } => {
                StatusCode::BAD_REQUEST
            }
            E::NotFound(_) | E::UnknownVolume(_) => StatusCode::NOT_FOUND,
            E::Busy { .. } | E::Conflict(_) => StatusCode::CONFLICT,
            // What was asked is larger than the server can store now (an upload): the
            // client's to make smaller or to send later, not a fault of the server (5xx).
            E::NoSpace { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(ErrorBody {
                error: self.message,
                kind: self.kind.to_string(),
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"discvault\""),
            );
        }
        r
    }
}

/// `Query<T>` whose rejection is the API's JSON error (400, kind `invalid`).
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(t)| ApiQuery(t))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("invalid query: {}", e.body_text()),
                )
            })
    }
}

/// `Path<T>` whose rejection is the API's JSON error (400, kind `invalid`).
pub struct ApiPath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiPath<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(t)| ApiPath(t))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("invalid path: {}", e.body_text()),
                )
            })
    }
}

/// `Json<T>` whose rejection is the API's JSON error (400, kind `invalid`).
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        // Every body is a JSON object: serde would also take an array for a struct, by
        // position, which no client means.
        let axum::Json(v) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e| body_error(e.status(), e.body_text()))?;
        if !v.is_object() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                "invalid body: a JSON object is expected",
            ));
        }
        serde_json::from_value(v).map(ApiJson).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("invalid body: {e}"),
            )
        })
    }
}

/// A multipart form, its rejection (no boundary, not a form) the JSON error.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("invalid form: {}", e.body_text()),
                )
            })
    }
}

/// A body refused before it was read: too large (413), or not what the route takes (400).
fn body_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too_large",
            format!(
                "the body is larger than the {} MiB a request may send",
                crate::api::MAX_BODY >> 20
            ),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("invalid body: {text}"),
        )
    }
}

/// A body as bytes (a CSV file), its rejection the JSON error.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|e| body_error(e.status(), e.body_text()))
    }
}
