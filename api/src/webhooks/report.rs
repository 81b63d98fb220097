//! What a delivery did, as the webhook's answer says and its record keeps:
//! ids and reasons, never the payload.

use hero_common::jobs::JobKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The answer to a delivery. GitHub shows it on the webhook's page of
/// recent deliveries, so it says plainly what happened and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryReport {
    pub delivery_id: String,
    /// The event and its action: `push`, `pull_request.closed`, ...
    pub event: String,
    pub outcome: DeliveryOutcome,
    /// For people: what was done, or why nothing was.
    pub message: String,
    /// What Hero did, per project. For a duplicate: what the first
    /// delivery did.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Projects linked to the repository that the event did nothing for,
    /// and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// At least one project acted on it (200).
    Handled,
    /// Nothing acted on it; `message` and `skipped` say why (202).
    Ignored,
    /// A redelivery of one already handled: nothing was done again (200).
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A job was accepted (or, on a retried delivery, found accepted).
    JobEnqueued {
        project_id: Uuid,
        job_id: Uuid,
        kind: JobKind,
        /// What started it: `push`, `command /hero`, `label hero`.
        trigger: String,
    },
    /// A pull request Hero opened was recorded as ended.
    PullRequestClosed {
        project_id: Uuid,
        number: i64,
        /// `merged` or `closed`.
        state: String,
    },
    /// The project's sandbox was asked to close, because its pull request
    /// ended and `close_sandbox_on_pr_close` is on; a worker closes it.
    SandboxCloseRequested { project_id: Uuid, sandbox_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Skipped {
    pub project_id: Uuid,
    pub reason: String,
}

impl DeliveryReport {
    /// A delivery no project was even asked about.
    pub fn ignored(delivery_id: &str, event: &str, reason: String) -> Self {
        Self {
            delivery_id: delivery_id.to_owned(),
            event: event.to_owned(),
            outcome: DeliveryOutcome::Ignored,
            message: reason,
            actions: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// A delivery the linked projects were asked about.
    pub fn of(delivery_id: &str, event: &str, actions: Vec<Action>, skipped: Vec<Skipped>) -> Self {
        let (outcome, message) = match (actions.len(), skipped.as_slice()) {
            (0, [only]) => (DeliveryOutcome::Ignored, only.reason.clone()),
            (0, _) => (
                DeliveryOutcome::Ignored,
                "no linked project acts on this event; `skipped` says why for each".to_owned(),
            ),
            (done, _) => (
                DeliveryOutcome::Handled,
                format!(
                    "{done} action{} taken, {} project{} skipped",
                    plural(done),
                    skipped.len(),
                    plural(skipped.len())
                ),
            ),
        };
        Self {
            delivery_id: delivery_id.to_owned(),
            event: event.to_owned(),
            outcome,
            message,
            actions,
            skipped,
        }
    }
}

impl DeliveryReport {
    /// A delivery seen before: nothing is done again, and the answer
    /// repeats what the first one did (`first`, when it was recorded).
    pub fn duplicate(
        delivery_id: &str,
        event: &str,
        first_id: &str,
        first: Option<DeliveryReport>,
    ) -> Self {
        let message = if first_id == delivery_id {
            format!("delivery {delivery_id} was already handled; nothing was done again")
        } else {
            format!("this payload was already delivered as {first_id}; nothing was done again")
        };
        let (actions, skipped) = first.map_or_else(Default::default, |f| (f.actions, f.skipped));
        Self {
            delivery_id: delivery_id.to_owned(),
            event: event.to_owned(),
            outcome: DeliveryOutcome::Duplicate,
            message,
            actions,
            skipped,
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(reason: &str) -> Skipped {
        Skipped {
            project_id: Uuid::nil(),
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn one_skipped_project_gives_its_reason_as_the_message() {
        let report = DeliveryReport::of("d", "push", vec![], vec![skipped("pushed to feature")]);

        assert_eq!(report.outcome, DeliveryOutcome::Ignored);
        assert_eq!(report.message, "pushed to feature");
    }

    #[test]
    fn any_action_makes_the_delivery_handled() {
        let action = Action::PullRequestClosed {
            project_id: Uuid::nil(),
            number: 1,
            state: "merged".to_owned(),
        };

        let report =
            DeliveryReport::of("d", "pull_request.closed", vec![action], vec![skipped("x")]);

        assert_eq!(report.outcome, DeliveryOutcome::Handled);
        assert_eq!(report.message, "1 action taken, 1 project skipped");
    }
}
