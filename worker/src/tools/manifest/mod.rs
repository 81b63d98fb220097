//! The project manifest, `hero.json` at the repository root: the build,
//! test and start commands, the files tools must never touch, the
//! operations the agent may use, and the tech stack.
//!
//! A repository without one gets one generated from what it holds
//! ([`generate`]).

mod forbidden;
pub mod generate;
mod load;

use serde::Serialize;
use serde_json::{Map, Value};

pub use forbidden::ForbiddenFiles;
pub use load::{MAX_FILE_BYTES, ManifestError, ManifestSource, generate_for, load};

/// The manifest's file name, at the repository root.
pub const FILE_NAME: &str = "hero.json";

/// The manifest version this Hero reads and writes.
pub const VERSION: u64 = 1;

/// Names that usually hold credentials, forbidden unless a manifest says
/// otherwise.
pub const DEFAULT_FORBIDDEN: &[&str] = &[
    ".env",
    ".env.*",
    "*.key",
    "*.pem",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".ssh/**",
    ".netrc",
];

/// What the agent may do; each tool needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Read,
    Write,
    Edit,
    Delete,
    Terminal,
    Git,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Self::Read,
        Self::Write,
        Self::Edit,
        Self::Delete,
        Self::Terminal,
        Self::Git,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Terminal => "terminal",
            Self::Git => "git",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub version: u64,
    pub build_command: Option<String>,
    pub test_command: Option<String>,
    pub start_command: Option<String>,
    pub forbidden: ForbiddenFiles,
    pub allowed_operations: Vec<Operation>,
    pub tech_stack: Vec<String>,
}

/// One problem in a manifest, with the field it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl Manifest {
    /// What a repository without a manifest gets before generation fills in
    /// its commands: every operation, the default forbidden files.
    pub fn default_for_repository() -> Self {
        let patterns: Vec<String> = DEFAULT_FORBIDDEN.iter().map(|p| (*p).to_owned()).collect();
        Self {
            version: VERSION,
            build_command: None,
            test_command: None,
            start_command: None,
            forbidden: ForbiddenFiles::new(&patterns).unwrap_or_else(|_| ForbiddenFiles::none()),
            allowed_operations: Operation::ALL.to_vec(),
            tech_stack: Vec::new(),
        }
    }

    pub fn allows(&self, operation: Operation) -> bool {
        self.allowed_operations.contains(&operation)
    }

    /// Parses and validates `hero.json`, reporting every problem found, not
    /// only the first.
    pub fn parse(text: &str) -> Result<Self, Vec<ManifestProblem>> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            vec![ManifestProblem {
                field: FILE_NAME.to_owned(),
                message: format!("is not valid JSON: {e}"),
            }]
        })?;
        let Value::Object(fields) = value else {
            return Err(vec![problem(FILE_NAME, "must be a JSON object")]);
        };

        let mut problems = Vec::new();
        let known = [
            "version",
            "buildCommand",
            "testCommand",
            "startCommand",
            "forbiddenFiles",
            "allowedOperations",
            "techStack",
        ];
        for name in fields.keys().filter(|k| !known.contains(&k.as_str())) {
            problems.push(problem(name, "is not a manifest field"));
        }

        let version = match fields.get("version") {
            None => VERSION,
            Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => VERSION,
            Some(other) => {
                problems.push(problem(
                    "version",
                    format!("must be {VERSION}, got {other}"),
                ));
                VERSION
            }
        };
        let build_command = command(&fields, "buildCommand", &mut problems);
        let test_command = command(&fields, "testCommand", &mut problems);
        let start_command = command(&fields, "startCommand", &mut problems);

        let patterns = strings(&fields, "forbiddenFiles", &mut problems)
            .unwrap_or_else(|| DEFAULT_FORBIDDEN.iter().map(|p| (*p).to_owned()).collect());
        let forbidden = match ForbiddenFiles::new(&patterns) {
            Ok(forbidden) => forbidden,
            Err(message) => {
                problems.push(problem("forbiddenFiles", message));
                ForbiddenFiles::none()
            }
        };

        let allowed_operations = match strings(&fields, "allowedOperations", &mut problems) {
            None => Operation::ALL.to_vec(),
            Some(names) => {
                let mut operations = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    match Operation::parse(name) {
                        Some(op) => operations.push(op),
                        None => problems.push(problem(
                            &format!("allowedOperations[{i}]"),
                            format!(
                                "{name:?} is not an operation; use read, write, edit, delete, terminal or git"
                            ),
                        )),
                    }
                }
                operations
            }
        };
        let tech_stack = strings(&fields, "techStack", &mut problems).unwrap_or_default();

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            version,
            build_command,
            test_command,
            start_command,
            forbidden,
            allowed_operations,
            tech_stack,
        })
    }

    /// The manifest as `hero.json` text.
    pub fn to_json(&self) -> String {
        let mut fields = Map::new();
        fields.insert("version".to_owned(), Value::from(self.version));
        for (name, value) in [
            ("buildCommand", &self.build_command),
            ("testCommand", &self.test_command),
            ("startCommand", &self.start_command),
        ] {
            if let Some(value) = value {
                fields.insert(name.to_owned(), Value::from(value.clone()));
            }
        }
        fields.insert(
            "forbiddenFiles".to_owned(),
            Value::from(self.forbidden.patterns().to_vec()),
        );
        fields.insert(
            "allowedOperations".to_owned(),
            Value::from(
                self.allowed_operations
                    .iter()
                    .map(|op| op.name())
                    .collect::<Vec<_>>(),
            ),
        );
        fields.insert("techStack".to_owned(), Value::from(self.tech_stack.clone()));
        let mut text = serde_json::to_string_pretty(&Value::Object(fields)).unwrap_or_default();
        text.push('\n');
        text
    }
}

fn problem(field: &str, message: impl Into<String>) -> ManifestProblem {
    ManifestProblem {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn command(
    fields: &Map<String, Value>,
    name: &str,
    problems: &mut Vec<ManifestProblem>,
) -> Option<String> {
    match fields.get(name)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::String(_) => {
            problems.push(problem(name, "must not be blank"));
            None
        }
        Value::Null => None,
        other => {
            problems.push(problem(name, format!("must be a string, got {other}")));
            None
        }
    }
}

fn strings(
    fields: &Map<String, Value>,
    name: &str,
    problems: &mut Vec<ManifestProblem>,
) -> Option<Vec<String>> {
    match fields.get(name)? {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(text) => out.push(text.clone()),
                    other => problems.push(problem(
                        &format!("{name}[{i}]"),
                        format!("must be a string, got {other}"),
                    )),
                }
            }
            Some(out)
        }
        other => {
            problems.push(problem(
                name,
                format!("must be an array of strings, got {other}"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_manifest_is_read() {
        let manifest = Manifest::parse(
            r#"{"version": 1, "buildCommand": "npm run build", "testCommand": "npm test",
                "startCommand": "npm start", "forbiddenFiles": ["secrets/**", "*.key"],
                "allowedOperations": ["read", "terminal"], "techStack": ["node", "typescript"]}"#,
        )
        .unwrap();

        assert_eq!(manifest.build_command.as_deref(), Some("npm run build"));
        assert!(manifest.allows(Operation::Read));
        assert!(!manifest.allows(Operation::Write));
        assert!(manifest.forbidden.matches("secrets/prod.json"));
        assert_eq!(manifest.tech_stack, ["node", "typescript"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let problems = Manifest::parse(
            r#"{"version": 2, "buildCommand": 5, "forbiddenFiles": ["[unclosed"],
                "allowedOperations": ["read", "format"], "techStack": "rust", "colour": "red"}"#,
        )
        .unwrap_err();

        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for field in [
            "version",
            "buildCommand",
            "forbiddenFiles",
            "allowedOperations[1]",
            "techStack",
            "colour",
        ] {
            assert!(fields.contains(&field), "{field} missing from {problems:?}");
        }
    }

    #[test]
    fn not_json_is_one_problem_naming_the_file() {
        let problems = Manifest::parse("{nope").unwrap_err();

        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "hero.json");
    }

    #[test]
    fn left_out_fields_get_defaults() {
        let manifest = Manifest::parse("{}").unwrap();

        assert_eq!(manifest.allowed_operations, Operation::ALL.to_vec());
        assert!(manifest.forbidden.matches(".env"));
        assert!(manifest.forbidden.matches("deploy/server.pem"));
    }

    #[test]
    fn a_written_manifest_reads_back_the_same() {
        let original = Manifest::parse(
            r#"{"testCommand": "cargo test", "allowedOperations": ["read", "git"], "techStack": ["rust"]}"#,
        )
        .unwrap();

        let again = Manifest::parse(&original.to_json()).unwrap();

        assert_eq!(again.test_command.as_deref(), Some("cargo test"));
        assert_eq!(again.allowed_operations, original.allowed_operations);
        assert_eq!(again.forbidden.patterns(), original.forbidden.patterns());
    }
}
