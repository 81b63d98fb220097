use anyhow::bail;
use clap::Subcommand;
use hero_common::settings::Settings;
use hero_common::store::Stores;
use hero_common::vault::Vault;

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every secret under SECRETS_ENCRYPTION_KEY. Put the old key
    /// in SECRETS_ENCRYPTION_KEY_PREVIOUS, for this command and for every
    /// running API, until the rotation has finished.
    RotateKey,
}

pub async fn run(settings: &Settings, command: SecretsCommand) -> anyhow::Result<()> {
    let stores = Stores::postgres(super::migrated_pool(settings).await?);

    match command {
        SecretsCommand::RotateKey => {
            let vault = Vault::open(
                &stores,
                settings.encryption_key()?,
                &settings.secrets_encryption_key_previous,
            )
            .await?;
            let report = vault.rotate().await?;
            println!(
                "re-encrypted {} secrets under key version {} ({} changed meanwhile and were already current)",
                report.resealed,
                vault.key_version(),
                report.changed_meanwhile
            );
            if !report.unreadable.is_empty() {
                bail!(
                    "{} secrets open under none of the configured keys (add their key to \
                     SECRETS_ENCRYPTION_KEY_PREVIOUS and run again): {}",
                    report.unreadable.len(),
                    report.unreadable.join(", ")
                );
            }
        }
    }
    Ok(())
}
