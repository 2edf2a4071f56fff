//! The route table: each REST route is declared with who may call it, and
//! that rule is what admits the caller (the access rule book of
//! `app::auth::ssr::access`). A handler takes the admitted caller with
//! [`Admitted`] or [`Camera`]; the role × route test reads [`Routes::table`].

use app::auth::ssr::{Need, Staff, admit, admit_camera};
use app::error::AppError;
use app::infra::AppState;
use app::settings::ssr::devices::Device;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use crate::guard::Caller;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: signing in, pairing a camera with its one-time code.
    Anyone,
    /// Staff, by session or API token, admitted for this need.
    Staff(Need),
    /// A paired camera, by its device token.
    Camera,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Rule {
    pub method: Method,
    /// The full path, as a client writes it (`/api/clients/{id}/photo`).
    pub path: String,
    pub access: Access,
}

/// Routes with their rules, merged per feature into the API.
#[derive(Default)]
pub struct Routes {
    routes: Vec<(Rule, MethodRouter<AppState>)>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `handler` at `/api{path}` for `method`, admitted by `access`.
    pub fn route(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Self {
        let rule = Rule {
            method,
            path: format!("/api{path}"),
            access,
        };
        self.routes.push((rule, handler));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.routes.extend(other.routes);
        self
    }

    /// Every route and its rule.
    pub fn table(&self) -> Vec<Rule> {
        self.routes.iter().map(|(rule, _)| rule.clone()).collect()
    }

    /// The router, each route behind the layer that admits its callers.
    pub fn build(self, state: &AppState) -> Router<AppState> {
        let mut router = Router::new();
        for (rule, handler) in self.routes {
            let handler = match rule.access {
                Access::Anyone => handler,
                Access::Staff(need) => handler.route_layer(from_fn(move |request, next| {
                    admit_staff(need, request, next)
                })),
                Access::Camera => {
                    handler.route_layer(from_fn_with_state(state.clone(), admit_camera_device))
                }
            };
            router = router.route(&rule.path, handler);
        }
        router
    }
}

async fn admit_staff(need: Need, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Caller(user) = match Caller::from_request_parts(&mut parts, &()).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    match admit(user, need) {
        Ok(staff) => {
            parts.extensions.insert(staff);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => error.into_response(),
    }
}

async fn admit_camera_device(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match admit_camera(&state, authorization.as_deref()).await {
        Ok(device) => {
            request.extensions_mut().insert(device);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// The staff caller the route's rule admitted.
pub struct Admitted(pub Staff);

impl<S: Send + Sync> FromRequestParts<S> for Admitted {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Staff>()
            .cloned()
            .map(Admitted)
            .ok_or_else(|| {
                // A handler asking for staff on a route declared for someone else.
                AppError::internal(format!("no staff admitted for {}", parts.uri.path()))
            })
    }
}

/// The camera the route's rule admitted.
pub struct Camera(pub Device);

impl<S: Send + Sync> FromRequestParts<S> for Camera {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<Device>()
            .cloned()
            .map(Camera)
            .ok_or_else(|| {
                AppError::internal(format!("no camera admitted for {}", parts.uri.path()))
            })
    }
}
