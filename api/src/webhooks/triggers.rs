//! What an event does for each project linked to its repository.
//!
//! Deciding is pure ([`plan`]: an event and a project in, what to do out);
//! acting ([`run`]) only enqueues jobs, updates pull request records and
//! records sandbox close requests (the workers close the sandbox), so a
//! delivery is answered long before GitHub's ten-second limit. Every
//! job a delivery enqueues carries an idempotency key made from the
//! delivery id, so a redelivery after a half-finished attempt finds the
//! jobs already accepted instead of adding more.

use hero_common::domain::Project;
use hero_common::jobs::{JobContext, JobKind, NewJob};
use hero_common::store::StoreError;
use serde_json::json;

use super::events::{Event, EventKind, Origin};
use super::report::{Action, DeliveryReport, Skipped};
use crate::routes::jobs::accept;
use crate::state::AppState;

/// `JobContext::source` of the jobs webhooks start.
pub const SOURCE: &str = "github_webhook";
/// The forge name Hero's GitHub pull requests are recorded under.
const FORGE: &str = "github";

/// Who may run a comment command, by GitHub's `author_association`:
/// anyone can comment on a public repository, but only its owner, the
/// organisation's members and invited collaborators start jobs.
const MAY_COMMAND: &[&str] = &["OWNER", "MEMBER", "COLLABORATOR"];

/// What an event asks of one project.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Enqueue {
        kind: JobKind,
        params: serde_json::Value,
        /// For people: `push`, `command /hero`, `label hero`.
        trigger: String,
    },
    RecordClosed {
        number: i64,
        merged: bool,
    },
    Skip(String),
}

/// Why no project should even be looked at, if so.
pub fn ignored(event: &Event) -> Option<String> {
    let origin = match &event.kind {
        EventKind::Other => {
            return Some(format!(
                "Hero does not act on `{}`; it acts on push, pull_request.closed, \
                 pull_request.labeled, issues.labeled and issue_comment.created",
                event.name
            ));
        }
        EventKind::Push(push) => {
            let Some(branch) = push.branch() else {
                return Some(format!("{} is not a branch", push.git_ref));
            };
            if push.deleted {
                return Some(format!("the push deleted the branch {branch}"));
            }
            &push.origin
        }
        kind => kind.origin()?,
    };
    if origin.installation_id.is_none() {
        return Some(
            "the event carries no GitHub App installation; Hero acts only on deliveries \
             from the App installation linked to a project"
                .to_owned(),
        );
    }
    None
}

/// What `event` does for `project`, which is linked to its repository.
pub fn plan(event: &Event, project: &Project) -> Plan {
    let Some(origin) = event.kind.origin() else {
        return Plan::Skip(format!("Hero does not act on `{}`", event.name));
    };
    match (project.github_installation_id, origin.installation_id) {
        (Some(linked), Some(sent)) if sent == linked => {}
        (Some(linked), Some(sent)) => {
            return Plan::Skip(format!(
                "sent by installation {sent}, but the project is linked to installation {linked}"
            ));
        }
        (Some(_), None) => {
            return Plan::Skip("the event carries no GitHub App installation".to_owned());
        }
        (None, _) => {
            return Plan::Skip(
                "the project is linked to no GitHub App installation (github_installation_id)"
                    .to_owned(),
            );
        }
    }

    let triggers = &project.webhook_triggers;
    match &event.kind {
        EventKind::Push(push) => {
            let branch = push.branch().unwrap_or_default();
            if !triggers.hydrate_on_push {
                Plan::Skip("the project's hydrate_on_push is off".to_owned())
            } else if branch != project.default_branch {
                Plan::Skip(format!(
                    "the push was to {branch}, not to the default branch {}",
                    project.default_branch
                ))
            } else {
                Plan::Enqueue {
                    kind: JobKind::Hydrate,
                    params: json!({ "branch": project.default_branch }),
                    trigger: "push".to_owned(),
                }
            }
        }
        EventKind::PullRequestClosed(closed) => Plan::RecordClosed {
            number: closed.number,
            merged: closed.merged,
        },
        EventKind::Labeled(labeled) => match triggers.label(&labeled.label) {
            Some(trigger) => Plan::Enqueue {
                kind: trigger.job.kind,
                params: trigger.job.params.clone(),
                trigger: format!("label {}", trigger.label),
            },
            None => Plan::Skip(format!(
                "the label {:?} is not one of the project's triggers",
                labeled.label
            )),
        },
        EventKind::Commented(comment) => {
            let Some(trigger) = triggers.command_in(&comment.body) else {
                return Plan::Skip(
                    "the comment does not start with one of the project's commands".to_owned(),
                );
            };
            if !MAY_COMMAND.contains(&comment.author_association.as_str()) {
                return Plan::Skip(format!(
                    "{} is {} of the repository (author_association); only its owner, members \
                     and collaborators may run commands",
                    origin.sender.as_deref().unwrap_or("the commenter"),
                    comment.author_association
                ));
            }
            Plan::Enqueue {
                kind: trigger.job.kind,
                params: trigger.job.params.clone(),
                trigger: format!("command {}", trigger.command),
            }
        }
        EventKind::Other => Plan::Skip(format!("Hero does not act on `{}`", event.name)),
    }
}

/// The idempotency key of the job a delivery enqueues for a project (the
/// key is unique per project, and a delivery starts at most one job in
/// each).
pub fn idempotency_key(delivery_id: &str) -> String {
    format!("github-delivery:{delivery_id}")
}

/// Acts on a delivery for every project linked to its repository.
pub async fn run(
    state: &AppState,
    delivery_id: &str,
    event: &Event,
) -> Result<DeliveryReport, StoreError> {
    if let Some(reason) = ignored(event) {
        return Ok(DeliveryReport::ignored(delivery_id, &event.name, reason));
    }
    let Some(origin) = event.kind.origin() else {
        return Ok(DeliveryReport::ignored(
            delivery_id,
            &event.name,
            format!("Hero does not act on `{}`", event.name),
        ));
    };
    let projects = state
        .stores
        .projects
        .find_by_repository(&origin.repo_owner, &origin.repo_name)
        .await?;
    if projects.is_empty() {
        return Ok(DeliveryReport::ignored(
            delivery_id,
            &event.name,
            format!("no Hero project is linked to {}", origin.repository()),
        ));
    }

    let mut actions = Vec::new();
    let mut skipped = Vec::new();
    for project in &projects {
        match act(state, delivery_id, event, origin, project).await? {
            Done::Acted(done) => actions.extend(done),
            Done::Skipped(reason) => skipped.push(Skipped {
                project_id: project.id,
                reason,
            }),
        }
    }
    Ok(DeliveryReport::of(
        delivery_id,
        &event.name,
        actions,
        skipped,
    ))
}

/// What carrying out a plan came to for one project.
enum Done {
    Acted(Vec<Action>),
    Skipped(String),
}

/// Carries out the plan for one project.
async fn act(
    state: &AppState,
    delivery_id: &str,
    event: &Event,
    origin: &Origin,
    project: &Project,
) -> Result<Done, StoreError> {
    match plan(event, project) {
        Plan::Skip(reason) => Ok(Done::Skipped(reason)),
        Plan::Enqueue {
            kind,
            params,
            trigger,
        } => {
            let job = NewJob {
                project_id: project.id,
                kind,
                params,
                idempotency_key: Some(idempotency_key(delivery_id)),
                execution_id: None,
                agent_id: None,
                context: Some(context(event, origin, delivery_id, &trigger)),
            };
            match accept(state, job).await {
                Ok((job, _)) => Ok(Done::Acted(vec![Action::JobEnqueued {
                    project_id: project.id,
                    job_id: job.id,
                    kind,
                    trigger,
                }])),
                // An earlier attempt of this delivery enqueued something
                // else: the project's triggers changed in between.
                Err(StoreError::Conflict(_)) => Ok(Done::Skipped(
                    "an earlier attempt of this delivery already enqueued a different job"
                        .to_owned(),
                )),
                Err(error) => Err(error),
            }
        }
        Plan::RecordClosed { number, merged } => {
            let record = state
                .stores
                .pull_requests
                .record_closed(project.id, FORGE, number, merged)
                .await?;
            let Some(record) = record else {
                return Ok(Done::Skipped(format!(
                    "pull request #{number} was not opened by Hero"
                )));
            };
            tracing::info!(
                project_id = %project.id,
                number,
                state = %record.state,
                "pull request ended"
            );
            let mut actions = vec![Action::PullRequestClosed {
                project_id: project.id,
                number,
                state: record.state,
            }];
            if project.webhook_triggers.close_sandbox_on_pr_close {
                actions.extend(request_sandbox_close(state, project).await?);
            }
            Ok(Done::Acted(actions))
        }
    }
}

/// Asks for the project's sandbox to be closed, as
/// `DELETE /v1/projects/{id}/sandbox` does; nothing when it has none.
async fn request_sandbox_close(
    state: &AppState,
    project: &Project,
) -> Result<Option<Action>, StoreError> {
    let Some(sandbox) = state.stores.sandboxes.request_close(project.id).await? else {
        tracing::debug!(project_id = %project.id, "no live sandbox to close");
        return Ok(None);
    };
    tracing::info!(project_id = %project.id, sandbox_id = %sandbox.id, "sandbox close requested");
    Ok(Some(Action::SandboxCloseRequested {
        project_id: project.id,
        sandbox_id: sandbox.id,
    }))
}

/// The summary of the event a job keeps: ids, names and links only.
fn context(event: &Event, origin: &Origin, delivery_id: &str, trigger: &str) -> JobContext {
    let (number, pull_request, comment_url) = match &event.kind {
        EventKind::Labeled(labeled) => (Some(labeled.number), Some(labeled.pull_request), None),
        EventKind::Commented(comment) => (
            Some(comment.number),
            Some(comment.pull_request),
            Some(comment.url.clone()),
        ),
        EventKind::Push(_) | EventKind::PullRequestClosed(_) | EventKind::Other => {
            (None, None, None)
        }
    };
    JobContext {
        source: SOURCE.to_owned(),
        event: event.name.clone(),
        delivery_id: delivery_id.to_owned(),
        repository: origin.repository(),
        number,
        pull_request,
        sender: origin.sender.clone(),
        comment_url,
        trigger: Some(trigger.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use hero_common::webhook_triggers::WebhookTriggers;
    use uuid::Uuid;

    use super::*;
    use crate::webhooks::events::{Commented, Labeled, Push};

    fn project(triggers: serde_json::Value) -> Project {
        let triggers: WebhookTriggers = serde_json::from_value(triggers).unwrap();
        Project {
            id: Uuid::nil(),
            owner_id: Uuid::nil(),
            name: "shop".to_owned(),
            repo_owner: "octo-org".to_owned(),
            repo_name: "shop".to_owned(),
            github_installation_id: Some(42),
            default_branch: "main".to_owned(),
            use_cloud_sandbox: false,
            allow_default_branch_push: false,
            webhook_triggers: triggers.validate().unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn origin(installation: Option<i64>) -> Origin {
        Origin {
            repo_owner: "Octo-Org".to_owned(),
            repo_name: "Shop".to_owned(),
            installation_id: installation,
            sender: Some("mona".to_owned()),
        }
    }

    fn push(branch: &str) -> Event {
        Event {
            name: "push".to_owned(),
            kind: EventKind::Push(Push {
                origin: origin(Some(42)),
                git_ref: format!("refs/heads/{branch}"),
                deleted: false,
            }),
        }
    }

    fn comment(body: &str, association: &str) -> Event {
        Event {
            name: "issue_comment.created".to_owned(),
            kind: EventKind::Commented(Commented {
                origin: origin(Some(42)),
                number: 5,
                pull_request: false,
                body: body.to_owned(),
                url: "https://github.com/octo-org/shop/issues/5#issuecomment-1".to_owned(),
                author_association: association.to_owned(),
            }),
        }
    }

    fn skip_reason(plan: Plan) -> String {
        match plan {
            Plan::Skip(reason) => reason,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn a_push_to_the_default_branch_hydrates_it() {
        let plan = plan(&push("main"), &project(json!({})));

        assert_eq!(
            plan,
            Plan::Enqueue {
                kind: JobKind::Hydrate,
                params: json!({"branch": "main"}),
                trigger: "push".to_owned(),
            }
        );
    }

    #[test]
    fn a_push_elsewhere_or_with_hydrate_on_push_off_does_nothing() {
        let elsewhere = skip_reason(plan(&push("feature"), &project(json!({}))));
        let off = skip_reason(plan(
            &push("main"),
            &project(json!({"hydrate_on_push": false})),
        ));

        assert!(elsewhere.contains("feature"), "{elsewhere}");
        assert!(off.contains("hydrate_on_push"), "{off}");
    }

    #[test]
    fn an_event_from_another_installation_does_nothing() {
        let mut event = push("main");
        if let EventKind::Push(push) = &mut event.kind {
            push.origin.installation_id = Some(7);
        }
        let mut unlinked = project(json!({}));
        unlinked.github_installation_id = None;

        let other = skip_reason(plan(&event, &project(json!({}))));
        let none = skip_reason(plan(&push("main"), &unlinked));

        assert!(other.contains("installation 7"), "{other}");
        assert!(none.contains("github_installation_id"), "{none}");
    }

    #[test]
    fn a_command_runs_only_for_the_repositorys_own_people() {
        let triggers = json!({"commands": [
            {"command": "/hero", "job": {"kind": "sync", "params": {"action": "status"}}},
        ]});

        let member = plan(
            &comment("/hero status please", "MEMBER"),
            &project(triggers.clone()),
        );
        let stranger = skip_reason(plan(&comment("/hero", "NONE"), &project(triggers.clone())));
        let chatter = skip_reason(plan(&comment("thanks!", "OWNER"), &project(triggers)));

        assert_eq!(
            member,
            Plan::Enqueue {
                kind: JobKind::Sync,
                params: json!({"action": "status"}),
                trigger: "command /hero".to_owned(),
            }
        );
        assert!(stranger.contains("NONE"), "{stranger}");
        assert!(chatter.contains("command"), "{chatter}");
    }

    #[test]
    fn a_configured_label_runs_its_job() {
        let event = Event {
            name: "issues.labeled".to_owned(),
            kind: EventKind::Labeled(Labeled {
                origin: origin(Some(42)),
                number: 3,
                pull_request: false,
                label: "HERO".to_owned(),
            }),
        };
        let triggers = json!({"labels": [{"label": "hero", "job": {"kind": "hydrate"}}]});

        let labeled = plan(&event, &project(triggers));
        let unconfigured = skip_reason(plan(&event, &project(json!({}))));

        assert!(
            matches!(
                labeled,
                Plan::Enqueue {
                    kind: JobKind::Hydrate,
                    ..
                }
            ),
            "{labeled:?}"
        );
        assert!(unconfigured.contains("HERO"), "{unconfigured}");
    }

    #[test]
    fn tag_pushes_deletions_and_unsigned_installations_are_ignored_outright() {
        let mut tag = push("main");
        let mut deleted = push("main");
        let mut no_app = push("main");
        if let EventKind::Push(push) = &mut tag.kind {
            push.git_ref = "refs/tags/v1".to_owned();
        }
        if let EventKind::Push(push) = &mut deleted.kind {
            push.deleted = true;
        }
        if let EventKind::Push(push) = &mut no_app.kind {
            push.origin.installation_id = None;
        }

        assert!(ignored(&tag).unwrap().contains("not a branch"));
        assert!(ignored(&deleted).unwrap().contains("deleted"));
        assert!(ignored(&no_app).unwrap().contains("installation"));
        assert_eq!(ignored(&push("main")), None);
    }

    #[test]
    fn a_jobs_context_names_the_event_and_never_the_comment() {
        let event = comment("/hero secret-looking text", "OWNER");
        let EventKind::Commented(commented) = &event.kind else {
            unreachable!()
        };

        let context = context(&event, &commented.origin, "d-1", "command /hero");

        assert_eq!(context.source, "github_webhook");
        assert_eq!(context.event, "issue_comment.created");
        assert_eq!(context.repository, "Octo-Org/Shop");
        assert_eq!(context.number, Some(5));
        assert_eq!(context.sender.as_deref(), Some("mona"));
        assert!(context.comment_url.is_some());
        let text = serde_json::to_string(&context).unwrap();
        assert!(!text.contains("secret-looking"), "{text}");
    }
}
