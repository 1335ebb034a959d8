//! The server as a Windows service (`presently-server service install`): the service control
//! manager starts `presently-server.exe … service run` at boot as LocalSystem, and stops it with
//! the system or `sc stop`. Its database defaults to `%ProgramData%\Presently\server.db` (not the
//! system account's own profile) and its log goes to `server.log` beside it, since a service has
//! no console. Tested under Wine by `scripts/windows/installer-test.sh`.

use crate::cli::Service;
use presently_server::config::Config;
use presently_server::error::AppError;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

pub const NAME: &str = "PresentlyServer";

/// `%ProgramData%\Presently`: the service's database and log, shared by the machine.
pub fn data_dir() -> PathBuf {
    std::env::var_os("ProgramData")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("Presently")
}

/// The configuration `service run` was started with, for the service's main.
static CONFIG: Mutex<Option<Config>> = Mutex::new(None);

windows_service::define_windows_service!(ffi_service_main, service_main);

pub fn service(config: Config, what: Service, database_given: bool) -> Result<(), AppError> {
    let failed = |what: &str, e: windows_service::Error| {
        AppError::config(format!(
            "cannot {what} the Windows service {NAME} ({e}): run this as an administrator"
        ))
    };
    match what {
        Service::Install => {
            // The same options, with `service run` where `service install` was.
            let mut args: Vec<OsString> = Vec::new();
            let mut given = std::env::args_os().skip(1).peekable();
            while let Some(arg) = given.next() {
                if arg == "service" && given.peek().is_some_and(|a| a == "install") {
                    given.next();
                    continue;
                }
                args.push(arg);
            }
            if !database_given {
                let db = data_dir().join("server.db");
                args.push("--database-url".into());
                args.push(format!("sqlite://{}", db.display()).into());
            }
            // Where the administrator installing it sees %ProgramData% (the service manager's
            // environment may name another folder).
            args.push("service".into());
            args.push("run".into());
            args.push("--log".into());
            args.push(data_dir().join("server.log").into());
            let manager = ServiceManager::local_computer(
                None::<&str>,
                ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
            )
            .map_err(|e| failed("reach the service manager for", e))?;
            let info = ServiceInfo {
                name: NAME.into(),
                display_name: "Presently server".into(),
                service_type: ServiceType::OWN_PROCESS,
                start_type: ServiceStartType::AutoStart,
                error_control: ServiceErrorControl::Normal,
                executable_path: std::env::current_exe().map_err(|e| {
                    AppError::config(format!("cannot tell where this program is: {e}"))
                })?,
                launch_arguments: args,
                dependencies: vec![],
                account_name: None,
                account_password: None,
            };
            let service = manager
                .create_service(&info, ServiceAccess::CHANGE_CONFIG)
                .map_err(|e| failed("install", e))?;
            let _ = service.set_description(
                "Presence for teams: the server Presently's apps sync with (docs/install.md)",
            );
            println!(
                "installed the Windows service {NAME} (starts at boot; `sc start {NAME}` starts it now)"
            );
            println!(
                "  its database and log are in {} unless --database-url said otherwise",
                data_dir().display()
            );
            Ok(())
        }
        Service::Uninstall => {
            let manager =
                ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
                    .map_err(|e| failed("reach the service manager for", e))?;
            let service = manager
                .open_service(
                    NAME,
                    ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
                )
                .map_err(|e| failed("open", e))?;
            if service
                .query_status()
                .is_ok_and(|s| s.current_state != ServiceState::Stopped)
            {
                let _ = service.stop();
                for _ in 0..100 {
                    if service
                        .query_status()
                        .is_ok_and(|s| s.current_state == ServiceState::Stopped)
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            service.delete().map_err(|e| failed("remove", e))?;
            println!("removed the Windows service {NAME}; its database and log stay");
            Ok(())
        }
        Service::Run { .. } => {
            *CONFIG.lock().unwrap_or_else(|p| p.into_inner()) = Some(config);
            windows_service::service_dispatcher::start(NAME, ffi_service_main).map_err(|e| {
                AppError::config(format!(
                    "`service run` is what the service manager starts ({e}); to serve from a console, leave it out"
                ))
            })
        }
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let Some(config) = CONFIG.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = Mutex::new(Some(stop));
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(stop) = stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = stop.send(());
            }
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(status) = service_control_handler::register(NAME, handler) else {
        return;
    };
    let report = |state, exit: u32| {
        let _ = status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: if state == ServiceState::Running {
                ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
            } else {
                ServiceControlAccept::empty()
            },
            exit_code: ServiceExitCode::Win32(exit),
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        });
    };
    report(ServiceState::Running, 0);
    let result = tokio::runtime::Runtime::new()
        .map_err(|e| AppError::config(format!("no runtime: {e}")))
        .and_then(|runtime| {
            runtime.block_on(crate::serve(config, async {
                let _ = stopped.await;
            }))
        });
    if let Err(e) = &result {
        tracing::error!("the service stopped: {e}");
    }
    report(ServiceState::Stopped, if result.is_ok() { 0 } else { 1 });
}
