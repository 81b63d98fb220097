use std::process::ExitCode;

use hero_api::Application;
use hero_common::settings::Settings;
use hero_common::shutdown::shutdown_signal;
use hero_common::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();

    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("hero-api: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = settings.encryption_key() {
        eprintln!("hero-api: {error}");
        return ExitCode::FAILURE;
    }

    let result = async {
        Application::build(&settings)
            .await?
            .run_until(shutdown_signal())
            .await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hero-api: {error:#}");
            ExitCode::FAILURE
        }
    }
}
