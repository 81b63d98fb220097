//! What GitHub events do for a project, as its owner set it up: hydrate
//! again when the default branch moves, close the sandbox when Hero's pull
//! request is closed, and run a chosen job when someone comments a command
//! or adds a label.
//!
//! A configuration is checked whole when it is saved, the jobs' params
//! included, so a webhook never finds a trigger it cannot run.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::jobs::JobKind;
use crate::jobs::params::JobParams;

/// At most this many commands, and as many labels, per project.
pub const MAX_TRIGGERS: usize = 20;
/// GitHub refuses label names longer than this; commands get the same.
const MAX_WORD_CHARS: usize = 50;

/// A project's webhook triggers. Fields left out take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTriggers {
    /// Hydrate the default branch again when it is pushed to. On unless
    /// turned off.
    #[serde(default = "on")]
    pub hydrate_on_push: bool,
    /// When a pull request Hero opened is merged or closed, ask for the
    /// project's sandbox to be closed as well. Off unless turned on.
    #[serde(default)]
    pub close_sandbox_on_pr_close: bool,
    /// A new issue or pull request comment whose first word is one of
    /// these commands starts its job.
    #[serde(default)]
    pub commands: Vec<CommandTrigger>,
    /// Adding one of these labels to an issue or pull request starts its
    /// job.
    #[serde(default)]
    pub labels: Vec<LabelTrigger>,
}

/// A comment command, such as `/hero`, matched ignoring case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandTrigger {
    pub command: String,
    pub job: TriggeredJob,
}

/// A label name, matched ignoring case as GitHub does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelTrigger {
    pub label: String,
    pub job: TriggeredJob,
}

/// The job a trigger enqueues: a kind and its params, as
/// `POST /v1/projects/{id}/jobs` takes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggeredJob {
    pub kind: JobKind,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// A trigger that cannot be saved: `field` is its path inside the
/// configuration (`commands[0].job.params.branch`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TriggerError {
    pub field: String,
    pub message: String,
}

fn on() -> bool {
    true
}

impl Default for WebhookTriggers {
    fn default() -> Self {
        Self {
            hydrate_on_push: true,
            close_sandbox_on_pr_close: false,
            commands: Vec::new(),
            labels: Vec::new(),
        }
    }
}

impl WebhookTriggers {
    /// Checks every trigger and returns the configuration as it is stored
    /// (params left out or `null` become `{}`).
    pub fn validate(mut self) -> Result<Self, TriggerError> {
        check_count("commands", self.commands.len())?;
        check_count("labels", self.labels.len())?;

        let mut commands = HashSet::new();
        for (index, trigger) in self.commands.iter_mut().enumerate() {
            let at = format!("commands[{index}]");
            check_word(&format!("{at}.command"), &trigger.command, false)?;
            if !commands.insert(trigger.command.to_lowercase()) {
                return Err(error(&format!("{at}.command"), "appears twice"));
            }
            trigger.job.validate(&at)?;
        }

        let mut labels = HashSet::new();
        for (index, trigger) in self.labels.iter_mut().enumerate() {
            let at = format!("labels[{index}]");
            check_word(&format!("{at}.label"), &trigger.label, true)?;
            if !labels.insert(trigger.label.to_lowercase()) {
                return Err(error(&format!("{at}.label"), "appears twice"));
            }
            trigger.job.validate(&at)?;
        }
        Ok(self)
    }

    /// The command a comment starts with, if it is one of ours: its first
    /// word, so `/hero` matches `/hero please` but not `/heroes`.
    pub fn command_in(&self, comment: &str) -> Option<&CommandTrigger> {
        let first = comment.split_whitespace().next()?.to_lowercase();
        self.commands
            .iter()
            .find(|trigger| trigger.command.to_lowercase() == first)
    }

    pub fn label(&self, name: &str) -> Option<&LabelTrigger> {
        let name = name.to_lowercase();
        self.labels
            .iter()
            .find(|trigger| trigger.label.to_lowercase() == name)
    }
}

impl TriggeredJob {
    fn validate(&mut self, at: &str) -> Result<(), TriggerError> {
        if self.params.is_null() {
            self.params = serde_json::json!({});
        }
        JobParams::parse(self.kind, &self.params)
            .map(drop)
            .map_err(|e| error(&format!("{at}.job.{}", e.field), e.message))
    }
}

fn check_count(field: &str, count: usize) -> Result<(), TriggerError> {
    if count > MAX_TRIGGERS {
        return Err(error(
            field,
            format!("at most {MAX_TRIGGERS} triggers, got {count}"),
        ));
    }
    Ok(())
}

/// A command is one word; a label may hold spaces inside, as GitHub's do.
fn check_word(field: &str, word: &str, spaces_inside: bool) -> Result<(), TriggerError> {
    let length = word.chars().count();
    if word.trim().is_empty() || length > MAX_WORD_CHARS {
        return Err(error(
            field,
            format!("must be 1 to {MAX_WORD_CHARS} characters and not blank"),
        ));
    }
    if word.chars().any(char::is_control) {
        return Err(error(field, "must not contain control characters"));
    }
    if word.trim() != word {
        return Err(error(field, "must not start or end with spaces"));
    }
    if !spaces_inside && word.chars().any(char::is_whitespace) {
        return Err(error(field, "must be a single word, without spaces"));
    }
    Ok(())
}

fn error(field: &str, message: impl Into<String>) -> TriggerError {
    TriggerError {
        field: field.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn triggers(value: serde_json::Value) -> WebhookTriggers {
        serde_json::from_value(value).expect("well-formed triggers")
    }

    fn refused(value: serde_json::Value) -> TriggerError {
        triggers(value)
            .validate()
            .expect_err("the triggers should be refused")
    }

    #[test]
    fn an_empty_configuration_hydrates_on_push_and_nothing_else() {
        let parsed = triggers(json!({})).validate().unwrap();

        assert_eq!(parsed, WebhookTriggers::default());
        assert!(parsed.hydrate_on_push);
        assert!(!parsed.close_sandbox_on_pr_close);
    }

    #[test]
    fn params_left_out_are_stored_as_an_empty_object() {
        let parsed = triggers(json!({"labels": [{"label": "hero", "job": {"kind": "hydrate"}}]}))
            .validate()
            .unwrap();

        assert_eq!(parsed.labels[0].job.params, json!({}));
    }

    #[test]
    fn a_jobs_params_are_checked_for_its_kind_and_named_by_their_path() {
        let e = refused(json!({"commands": [
            {"command": "/ok", "job": {"kind": "hydrate"}},
            {"command": "/bad", "job": {"kind": "hydrate", "params": {"branch": "a..b"}}},
        ]}));

        assert_eq!(e.field, "commands[1].job.params.branch");
    }

    #[test]
    fn commands_are_single_words_and_labels_are_not_blank() {
        let e =
            refused(json!({"commands": [{"command": "/hero fix", "job": {"kind": "hydrate"}}]}));
        assert_eq!(e.field, "commands[0].command");
        assert!(e.message.contains("single word"), "{e}");

        let e = refused(json!({"labels": [{"label": "  ", "job": {"kind": "hydrate"}}]}));
        assert_eq!(e.field, "labels[0].label");

        let e = refused(json!({"labels": [{"label": "x".repeat(51), "job": {"kind": "hydrate"}}]}));
        assert_eq!(e.field, "labels[0].label");
    }

    #[test]
    fn the_same_command_or_label_twice_is_refused_whatever_its_case() {
        let e = refused(json!({"labels": [
            {"label": "Hero", "job": {"kind": "hydrate"}},
            {"label": "hero", "job": {"kind": "hydrate"}},
        ]}));

        assert_eq!(e.field, "labels[1].label");
        assert!(e.message.contains("twice"), "{e}");
    }

    #[test]
    fn too_many_triggers_are_refused() {
        let many: Vec<_> = (0..=MAX_TRIGGERS)
            .map(|i| json!({"command": format!("/c{i}"), "job": {"kind": "hydrate"}}))
            .collect();

        let e = refused(json!({ "commands": many }));

        assert_eq!(e.field, "commands");
    }

    #[test]
    fn a_command_matches_the_first_word_of_a_comment_ignoring_case() {
        let parsed =
            triggers(json!({"commands": [{"command": "/hero", "job": {"kind": "hydrate"}}]}))
                .validate()
                .unwrap();

        assert!(parsed.command_in("/hero please rebase").is_some());
        assert!(parsed.command_in("\n  /HERO").is_some());
        assert!(parsed.command_in("/heroes assemble").is_none());
        assert!(parsed.command_in("please /hero").is_none());
        assert!(parsed.command_in("").is_none());
    }

    #[test]
    fn a_label_matches_ignoring_case() {
        let parsed =
            triggers(json!({"labels": [{"label": "Hero: fix", "job": {"kind": "hydrate"}}]}))
                .validate()
                .unwrap();

        assert!(parsed.label("hero: FIX").is_some());
        assert!(parsed.label("hero").is_none());
    }
}
