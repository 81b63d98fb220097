//! What the fake GitHub knows: repositories and their pull requests, the
//! app's installations, and every token it issued, with their grants.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;

use super::error::ApiError;
use super::faults::{Endpoint, Faults};
use super::keys::AppKey;
use super::shapes::{Account, Hosts};

/// The fake's shared state.
pub struct State {
    /// `http://127.0.0.1:PORT`: the API, the web pages and OAuth.
    pub api_url: String,
    pub git_url: String,
    pub git_root: PathBuf,
    pub app: AppKey,
    pub client_id: String,
    pub client_secret: String,
    pub faults: Faults,
    inner: Mutex<Inner>,
}

pub struct Inner {
    pub repos: BTreeMap<String, Repo>,
    next_id: u64,
    pub installations: HashMap<i64, String>,
    pub tokens: HashMap<String, Grant>,
    pub codes: HashMap<String, CodeGrant>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// Every token ever issued, revoked ones too, for "never in a log"
    /// checks.
    pub issued: Vec<String>,
    pub accounts: BTreeMap<String, u64>,
    pub counts: Counts,
    pub requests: Vec<RecordedRequest>,
    pub lifetimes: Lifetimes,
}

/// How many times each kind of token was issued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub installation_tokens: usize,
    pub code_exchanges: usize,
    pub refreshes: usize,
}

/// How long the tokens the fake issues last.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub installation_token: Duration,
    /// `None`: user tokens do not expire, and come without a refresh token.
    pub user_access: Option<Duration>,
    pub user_refresh: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        // GitHub's: an hour, eight hours, about six months.
        Self {
            installation_token: Duration::from_secs(3600),
            user_access: Some(Duration::from_secs(28_800)),
            user_refresh: Duration::from_secs(15_811_200),
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub endpoint: Endpoint,
    pub status: u16,
}

pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub private: bool,
    pub default_branch: String,
    pub created_at: DateTime<Utc>,
    pub pulls: Vec<Pull>,
}

impl Repo {
    pub fn open_pull_count(&self) -> usize {
        self.pulls.iter().filter(|pull| pull.open).count()
    }
}

pub struct Pull {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub head: String,
    pub base: String,
    pub head_sha: String,
    pub base_sha: String,
    pub draft: bool,
    pub maintainer_can_modify: bool,
    pub open: bool,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// What a token lets its bearer do.
#[derive(Debug, Clone)]
pub enum Grant {
    Installation {
        installation_id: i64,
        account: String,
        /// Repository names the token is limited to, if it is.
        repositories: Option<Vec<String>>,
        expires_at: DateTime<Utc>,
    },
    User {
        login: String,
        expires_at: Option<DateTime<Utc>>,
    },
    Personal {
        login: String,
    },
}

pub struct CodeGrant {
    pub login: String,
    pub redirect_uri: Option<String>,
    pub expires_at: DateTime<Utc>,
}

pub struct RefreshGrant {
    pub login: String,
    /// The access token issued with it, which dies when it is used.
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Who is calling, from the `Authorization` header.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Installation {
        account: String,
        repositories: Option<Vec<String>>,
    },
    User {
        login: String,
    },
}

impl State {
    pub fn new(
        api_url: String,
        git_url: String,
        git_root: PathBuf,
        app: AppKey,
        client_id: String,
        client_secret: String,
    ) -> Self {
        Self {
            api_url,
            git_url,
            git_root,
            app,
            client_id,
            client_secret,
            faults: Faults::default(),
            inner: Mutex::new(Inner {
                repos: BTreeMap::new(),
                next_id: 1_296_269,
                installations: HashMap::new(),
                tokens: HashMap::new(),
                codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                issued: Vec::new(),
                accounts: BTreeMap::new(),
                counts: Counts::default(),
                requests: Vec::new(),
                lifetimes: Lifetimes::default(),
            }),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn hosts(&self) -> Hosts<'_> {
        Hosts {
            api: &self.api_url,
            git: &self.git_url,
        }
    }

    /// The caller a request's `Authorization` header names. A token the
    /// fake does not know, or one that expired, is refused as GitHub does.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let Some(value) = headers.get("authorization") else {
            return Ok(Caller::Anonymous);
        };
        let value = value.to_str().map_err(|_| ApiError::bad_credentials())?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("token "))
            .ok_or_else(ApiError::bad_credentials)?
            .trim();

        let inner = self.lock();
        match inner.tokens.get(token) {
            Some(Grant::Installation {
                account,
                repositories,
                expires_at,
                ..
            }) if *expires_at > Utc::now() => Ok(Caller::Installation {
                account: account.clone(),
                repositories: repositories.clone(),
            }),
            Some(Grant::User { login, expires_at })
                if expires_at.is_none_or(|at| at > Utc::now()) =>
            {
                Ok(Caller::User {
                    login: login.clone(),
                })
            }
            Some(Grant::Personal { login }) => Ok(Caller::User {
                login: login.clone(),
            }),
            _ => Err(ApiError::bad_credentials()),
        }
    }

    /// Whether a token may reach `owner/name` over git: any live token the
    /// fake issued that could read the repository through the API.
    pub fn git_token_allows(&self, token: &str, full_name: &str) -> bool {
        let mut headers = HeaderMap::new();
        let Ok(value) = format!("Bearer {token}").parse() else {
            return false;
        };
        headers.insert("authorization", value);
        let Ok(caller) = self.caller(&headers) else {
            return false;
        };
        if matches!(caller, Caller::Anonymous) {
            return false;
        }
        let inner = self.lock();
        inner
            .repos
            .get(&full_name.to_ascii_lowercase())
            .is_some_and(|repo| can_see(&caller, repo))
    }
}

impl Inner {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A stable account for a login; logins ending in `[bot]` are bots.
    pub fn account(&mut self, login: &str, kind: &'static str) -> Account {
        let key = login.to_ascii_lowercase();
        let id = match self.accounts.get(&key) {
            Some(id) => *id,
            None => {
                let id = 583_231 + self.accounts.len() as u64;
                self.accounts.insert(key, id);
                id
            }
        };
        Account {
            login: login.to_owned(),
            id,
            kind,
        }
    }

    pub fn owner_account(&mut self, owner: &str) -> Account {
        let kind = if self
            .installations
            .values()
            .any(|a| a.eq_ignore_ascii_case(owner))
        {
            "Organization"
        } else {
            "User"
        };
        self.account(owner, kind)
    }

    /// A new token with GitHub's prefix for its kind (`ghs_`, `ghu_`,
    /// `ghr_`, `ghp_`), remembered as issued.
    pub fn new_token(&mut self, prefix: &str) -> String {
        let random: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(36)
            .map(char::from)
            .collect();
        let token = format!("{prefix}{random}");
        self.issued.push(token.clone());
        token
    }

    pub fn record(&mut self, request: RecordedRequest) {
        self.requests.push(request);
    }
}

/// Whether `caller` may read `repo`: an installation sees its account's
/// repositories (or the ones its token is limited to), a user sees all,
/// anyone sees public ones.
pub fn can_see(caller: &Caller, repo: &Repo) -> bool {
    match caller {
        Caller::Anonymous => !repo.private,
        Caller::User { .. } => true,
        Caller::Installation {
            account,
            repositories,
        } => {
            account.eq_ignore_ascii_case(&repo.owner)
                && repositories
                    .as_ref()
                    .is_none_or(|names| names.iter().any(|n| n.eq_ignore_ascii_case(&repo.name)))
        }
    }
}

/// The account a caller acts as, for a pull request's `user`.
pub fn author_login(caller: &Caller) -> String {
    match caller {
        Caller::Anonymous => "ghost".to_owned(),
        Caller::Installation { .. } => "hero-app[bot]".to_owned(),
        Caller::User { login } => login.clone(),
    }
}
