//! Local sandboxes: the shared provider suite, with and without
//! bubblewrap, and the isolation bubblewrap must give.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

mod isolation;

mod isolated {
    use hero_tests::local_sandboxes::TempProvider;
    use hero_worker::sandbox::local::IsolationMode;

    hero_tests::sandbox_suite!(TempProvider::new(IsolationMode::Required, false).await);
}

mod unisolated {
    use hero_tests::local_sandboxes::TempProvider;
    use hero_worker::sandbox::local::IsolationMode;

    hero_tests::sandbox_suite!(TempProvider::new(IsolationMode::Disabled, false).await);
}
