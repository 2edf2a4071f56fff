//! `GET /api/events`: server-sent events that tell open dashboards to
//! refresh. Reception hears only about its own branch.

use app::infra::AppState;
use std::convert::Infallible;
use std::time::Duration;

use super::routes::{Access, Admitted, Routes};
use app::auth::ssr::Need;
use axum::extract::State;
use axum::http::Method;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

pub fn routes() -> Routes {
    Routes::new().route(
        Method::GET,
        "/events",
        Access::Staff(Need::Staff),
        get(events),
    )
}

async fn events(
    State(state): State<AppState>,
    Admitted(user): Admitted,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, app::error::AppError> {
    let only_branch = user.scope.branch();
    let receiver = state.changes.subscribe();
    let stream = stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(change) if only_branch.is_none_or(|b| b == change.branch_id) => {
                    let event = Event::default()
                        .event("change")
                        .data(change.branch_id.to_string());
                    return Some((Ok(event), receiver));
                }
                Ok(_) => continue,
                // Fell behind: one refresh covers everything missed.
                Err(RecvError::Lagged(_)) => {
                    return Some((Ok(Event::default().event("change").data("all")), receiver));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
