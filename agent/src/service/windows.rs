//! The agent as a Windows service: LocalSystem, started at boot, and
//! restarted by the service manager after any end that was not a stop (a
//! crash, a kill, or an exit with an error). Running in session 0, it
//! starts the lock screen in the player's console session
//! (`crate::console`) and again on every sign-in or console change, which
//! the service manager reports to it.
#![allow(unsafe_code)] // define_windows_service! expands to the service's raw entry point

use super::NAME;
use crate::cli::RunArgs;
use crate::AgentOptions;
use anyhow::Context;
use std::ffi::{OsStr, OsString};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType, SessionChangeReason,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

const DISPLAY_NAME: &str = "Clubhall PC agent";
const DESCRIPTION: &str =
    "Keeps this PC locked unless the club server says otherwise. Restarted whenever it ends.";

/// The pauses before the service manager starts the agent again after its
/// first, second, and every later failure within a day.
const RESTART_AFTER: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
];

fn manager(access: ServiceManagerAccess) -> anyhow::Result<ServiceManager> {
    ServiceManager::local_computer(None::<&str>, access)
        .context("opening the service manager (run this as an Administrator)")
}

fn open(access: ServiceAccess) -> anyhow::Result<windows_service::service::Service> {
    manager(ServiceManagerAccess::CONNECT)?
        .open_service(NAME, access)
        .with_context(|| format!("opening the {NAME} service (is it installed?)"))
}

/// Registers (or re-registers) this executable as the service, running with
/// `run`'s options.
pub fn install(run: &RunArgs) -> anyhow::Result<()> {
    run.options()?;
    let exe = std::env::current_exe().context("finding club-agent's own path")?;
    let mut launch_arguments = vec![OsString::from("run"), OsString::from("--service")];
    launch_arguments.extend(run.to_args());
    let info = ServiceInfo {
        name: NAME.into(),
        display_name: DISPLAY_NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe,
        launch_arguments,
        dependencies: vec![],
        // LocalSystem.
        account_name: None,
        account_password: None,
    };
    let manager = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let access = ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS;
    let service = match manager.open_service(NAME, access) {
        Ok(existing) => {
            existing
                .change_config(&info)
                .context("updating the service")?;
            existing
        }
        Err(_) => manager
            .create_service(&info, access)
            .context("creating the service")?,
    };
    service.set_description(DESCRIPTION)?;
    service
        .update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 3600)),
            reboot_msg: None,
            command: None,
            actions: Some(
                RESTART_AFTER
                    .iter()
                    .map(|&delay| ServiceAction {
                        action_type: ServiceActionType::Restart,
                        delay,
                    })
                    .collect(),
            ),
        })
        .context("setting the service's restart on failure")?;
    // An exit with an error counts as a failure too, not only a crash.
    service
        .set_failure_actions_on_non_crash_failures(true)
        .context("setting the service's restart after an error exit")?;
    println!("Installed the {NAME} service (LocalSystem, automatic start, restarted on failure).");
    Ok(())
}

pub fn uninstall() -> anyhow::Result<()> {
    let service = open(ServiceAccess::STOP | ServiceAccess::DELETE | ServiceAccess::QUERY_STATUS)?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        let _ = service.stop();
        wait_for(&service, ServiceState::Stopped)?;
    }
    service.delete().context("deleting the service")?;
    println!("Removed the {NAME} service. The state dir (the device secret) is kept.");
    Ok(())
}

pub fn start() -> anyhow::Result<()> {
    let service = open(ServiceAccess::START | ServiceAccess::QUERY_STATUS)?;
    service
        .start(&[] as &[&OsStr])
        .context("starting the service")?;
    wait_for(&service, ServiceState::Running)?;
    println!("{NAME}: running");
    Ok(())
}

pub fn stop() -> anyhow::Result<()> {
    let service = open(ServiceAccess::STOP | ServiceAccess::QUERY_STATUS)?;
    service.stop().context("stopping the service")?;
    wait_for(&service, ServiceState::Stopped)?;
    println!("{NAME}: stopped");
    Ok(())
}

/// Prints the service's state; an error when it is not installed.
pub fn status() -> anyhow::Result<()> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG)?;
    let state = service.query_status()?.current_state;
    let config = service.query_config()?;
    println!("{NAME}: {state:?}");
    println!("runs: {}", config.executable_path.display());
    println!("start: {:?}", config.start_type);
    Ok(())
}

/// The service manager gives no event for a state change to its callers:
/// look every 250 ms, for at most 30 s.
fn wait_for(service: &windows_service::service::Service, want: ServiceState) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = service.query_status()?.current_state;
        if now == want {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the service is {now:?} after 30 s, not {want:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The options `run --service` was started with, for the service's main.
static OPTIONS: Mutex<Option<AgentOptions>> = Mutex::new(None);

/// Hands the process to the service manager (`run --service`, which only
/// the service manager starts); returns when the service has stopped.
pub fn dispatch(opts: AgentOptions) -> anyhow::Result<()> {
    *OPTIONS.lock().unwrap_or_else(|p| p.into_inner()) = Some(opts);
    service_dispatcher::start(NAME, ffi_service_main).context(
        "only the service manager runs `club-agent run --service`; \
         use `club-agent service start`, or `club-agent run` in a terminal",
    )
}

define_windows_service!(ffi_service_main, service_main);

fn service_main(_arguments: Vec<OsString>) {
    if let Err(e) = run_service() {
        tracing::error!(error = format!("{e:#}"), "the service ended with an error");
    }
}

fn run_service() -> anyhow::Result<()> {
    let mut opts = OPTIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .context("the service's options were not set")?;
    opts.lock_screen_in_console_session = true;
    let sessions = opts.session_changed.clone();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            stop.cancel();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        ServiceControl::SessionChange(change) => {
            if matches!(
                change.reason,
                SessionChangeReason::SessionLogon | SessionChangeReason::ConsoleConnect
            ) {
                sessions.notify_one();
            }
            ServiceControlHandlerResult::NoError
        }
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let status = service_control_handler::register(NAME, handler)?;
    let report = |state, controls_accepted, exit_code| {
        status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted,
            exit_code,
            checkpoint: 0,
            wait_hint: Duration::ZERO,
            process_id: None,
        })
    };
    report(
        ServiceState::Running,
        ServiceControlAccept::STOP
            | ServiceControlAccept::SHUTDOWN
            | ServiceControlAccept::SESSION_CHANGE,
        ServiceExitCode::Win32(0),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let (handle, mut done) = crate::run(opts, shutdown.clone()).await?;
        tokio::select! {
            r = &mut done => { r?; return anyhow::Ok(false) }
            _ = handle.restart_requested() => {}
        }
        // A new build is in place: end, to be started as it.
        shutdown.cancel();
        done.await?;
        anyhow::Ok(true)
    });
    drop(runtime);
    // A stop asked for is a clean end; anything else is a failure, which
    // the service manager answers with a restart: an update's restart too.
    let exit = match result {
        Ok(true) => ServiceExitCode::ServiceSpecific(crate::update::RESTART_EXIT_CODE as u32),
        Ok(false) if shutdown.is_cancelled() => ServiceExitCode::Win32(0),
        _ => ServiceExitCode::ServiceSpecific(1),
    };
    let result = result.map(drop);
    report(ServiceState::Stopped, ServiceControlAccept::empty(), exit)?;
    result
}
