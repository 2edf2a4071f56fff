//! What the camera program may ask and tell: pairing, the gallery of clients
//! who opted in to face recognition, and entrance/exit events that open and
//! close visits. Staff correct a wrong match ("not this person") here too.

mod correction;
mod events;
mod gallery;
mod retention;
pub mod staff;
pub use correction::*;
pub use events::*;
pub use gallery::*;
pub use retention::*;

/// Decoded snapshots larger than this are refused (a face crop is ~30 KB).
pub const SNAPSHOT_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Clocks may differ a little; an event from further ahead is refused.
const FUTURE_SLACK_MS: i64 = 60_000;
/// A queue replayed after a week is too stale to open visits.
const OLDEST_EVENT_MS: i64 = 7 * 86_400_000;
/// Unknown-visitor snapshots are kept this many days unless settings say otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn input() -> EventInput {
        EventInput {
            key: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            kind: "enter".into(),
            occurred_at: 1_000_000_000,
            client_id: Some(3),
            staff_id: None,
            stranger: None,
            similarity: Some(0.7),
            track: None,
            snapshot: None,
        }
    }

    #[test]
    fn events_are_checked_before_anything_is_stored() {
        let now = 1_000_000_000;
        assert!(validate(&input(), now).is_ok());
        let field = |e: EventInput| match validate(&e, now) {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            field(EventInput {
                key: "short".into(),
                ..input()
            }),
            "key"
        );
        assert_eq!(
            field(EventInput {
                key: "a b c d e f g h".into(),
                ..input()
            }),
            "key"
        );
        assert_eq!(
            field(EventInput {
                kind: "dance".into(),
                ..input()
            }),
            "kind"
        );
        assert_eq!(
            field(EventInput {
                occurred_at: now + 61_000,
                ..input()
            }),
            "occurred_at"
        );
        assert_eq!(
            field(EventInput {
                occurred_at: now - 8 * 86_400_000,
                ..input()
            }),
            "occurred_at"
        );
        assert_eq!(
            field(EventInput {
                similarity: Some(1.5),
                ..input()
            }),
            "similarity"
        );
        assert_eq!(
            field(EventInput {
                client_id: None,
                ..input()
            }),
            "similarity"
        );
        // One person is a client or a staff member, never both.
        assert_eq!(
            field(EventInput {
                staff_id: Some(4),
                ..input()
            }),
            "staff_id"
        );
        assert!(
            validate(
                &EventInput {
                    client_id: None,
                    staff_id: Some(4),
                    ..input()
                },
                now
            )
            .is_ok()
        );
        // A stranger's key has the camera program's shape, and is nobody known.
        assert_eq!(
            field(EventInput {
                client_id: None,
                similarity: None,
                stranger: Some("s-0123".into()),
                ..input()
            }),
            "stranger"
        );
        assert_eq!(
            field(EventInput {
                stranger: Some("s-0123456789abcdef".into()),
                ..input()
            }),
            "stranger"
        );
        assert_eq!(
            field(EventInput {
                snapshot: Some("not base64!".into()),
                ..input()
            }),
            "snapshot"
        );
        // Valid base64 of something that is not an image.
        assert_eq!(
            field(EventInput {
                snapshot: Some("PHNjcmlwdD4=".into()),
                ..input()
            }),
            "snapshot"
        );
    }
}
