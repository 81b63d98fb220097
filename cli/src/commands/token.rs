use anyhow::bail;
use clap::Subcommand;
use hero_common::api_token;
use hero_common::settings::Settings;
use hero_common::store::Stores;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user (created too if new). The token is printed
    /// once, alone on the last line; only its hash is kept.
    Create {
        #[arg(long)]
        user: String,
        /// A note to recognise the token by later.
        #[arg(long)]
        label: Option<String>,
    },
    /// List a user's tokens (never the tokens themselves).
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by its id, as `create` and `list` show it.
    Revoke { id: Uuid },
}

pub async fn run(settings: &Settings, command: TokenCommand) -> anyhow::Result<()> {
    let stores = Stores::postgres(super::migrated_pool(settings).await?);

    match command {
        TokenCommand::Create { user, label } => {
            let (token, id) = create(&stores, &user, label.as_deref()).await?;
            println!("created token {id} for user {user}; it is shown only now:");
            println!("{}", api_token::expose(&token));
        }
        TokenCommand::List { user } => {
            let Some(user) = stores.users.find_by_name(&user).await? else {
                bail!("no user named {user:?}");
            };
            for token in stores.tokens.list(user.id).await? {
                let state = match token.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "active".to_owned(),
                };
                let label = token.label.unwrap_or_default();
                println!("{}  {}  {state}  {label}", token.id, token.created_at);
            }
        }
        TokenCommand::Revoke { id } => {
            if !stores.tokens.revoke(id).await? {
                bail!("no active token with id {id}");
            }
            println!("revoked token {id}");
        }
    }
    Ok(())
}

/// Creates a token for `user_name`, creating the user if needed.
pub async fn create(
    stores: &Stores,
    user_name: &str,
    label: Option<&str>,
) -> anyhow::Result<(secrecy::SecretString, Uuid)> {
    let name = user_name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        bail!("--user must be 1 to 100 printable characters");
    }
    let user = stores.users.get_or_create(name).await?;
    let (token, hash) = api_token::generate();
    let info = stores.tokens.create(user.id, &hash, label).await?;
    Ok((token, info.id))
}
