//! RSA key pairs for the fake's GitHub App, made with the `openssl` command
//! at test time: quick, and nothing secret is kept in the repository.

use std::process::{Command, Stdio};

/// A GitHub App's identity: its id and its RSA key pair in PEM form.
#[derive(Clone)]
pub struct AppKey {
    pub app_id: u64,
    /// PKCS#1 (`BEGIN RSA PRIVATE KEY`), the form GitHub hands out.
    pub private_pem: String,
    pub public_pem: String,
}

impl AppKey {
    /// A fresh 2048-bit key pair for app `app_id`.
    pub fn generate(app_id: u64) -> Self {
        let private_pem = openssl(&["genrsa", "-traditional", "2048"], None);
        Self::from_private_pem(app_id, private_pem)
    }

    /// The pair for an existing private key.
    pub fn from_private_pem(app_id: u64, private_pem: String) -> Self {
        let public_pem = openssl(&["rsa", "-pubout"], Some(&private_pem));
        Self {
            app_id,
            private_pem,
            public_pem,
        }
    }
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppKey")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

fn openssl(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write as _;

    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl command is needed to make test keys");
    let mut stdin = child.stdin.take().expect("piped stdin");
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).expect("write to openssl");
    }
    drop(stdin);

    let output = child.wait_with_output().expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("PEM is ASCII")
}
