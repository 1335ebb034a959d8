//! What the Windows desktop says, read with its own calls: the time since the last input
//! (`GetLastInputInfo`, the same clock the screen saver uses), whether the workstation is locked
//! (the input desktop is then Winlogon's, not the person's `Default`), lock, unlock, sleep and
//! resume as they happen (the session's and the power manager's messages to a window of
//! Presently's own), and which applications use the microphone now (the consent store Windows
//! keeps for its privacy settings and the taskbar's microphone icon). Compiled on Windows only;
//! run under Wine by `scripts/test.sh`.

use crate::calls::ConsentEntry;
use crate::idle_source::{IdleSample, IdleSource, SessionEvent};
use windows_sys::Win32::System::StationsAndDesktops::{
    CloseDesktop, GetUserObjectInformationW, OpenInputDesktop, DESKTOP_READOBJECTS, UOI_NAME,
};
use windows_sys::Win32::System::SystemInformation::GetTickCount;
use windows_sys::Win32::UI::Input::KeyboardAndMouse::{GetLastInputInfo, LASTINPUTINFO};

/// Idle time and lock from the Windows session this process runs in.
pub struct WindowsIdle;

impl IdleSource for WindowsIdle {
    fn sample(&self) -> IdleSample {
        let mut info = LASTINPUTINFO {
            cbSize: std::mem::size_of::<LASTINPUTINFO>() as u32,
            dwTime: 0,
        };
        // SAFETY: `info` is a valid LASTINPUTINFO with its size set, as the call requires.
        if unsafe { GetLastInputInfo(&mut info) } == 0 {
            return IdleSample::Unavailable {
                reason: format!(
                    "Windows did not give the time of the last input ({})",
                    std::io::Error::last_os_error()
                ),
            };
        }
        // Both are milliseconds since boot in 32 bits; the difference is right across the
        // wrap every 49.7 days.
        // SAFETY: no arguments.
        let idle_ms = unsafe { GetTickCount() }.wrapping_sub(info.dwTime) as u64;
        IdleSample::Known {
            idle_ms,
            locked: workstation_locked(),
        }
    }
    fn name(&self) -> &'static str {
        "windows"
    }
}

/// Whether the workstation is locked: the desktop that receives input is then Winlogon's secure
/// desktop, which a person's process cannot open (or, where it can, is not named `Default`).
pub fn workstation_locked() -> bool {
    // SAFETY: plain call; a null handle is checked before use.
    let desktop = unsafe { OpenInputDesktop(0, 0, DESKTOP_READOBJECTS) };
    if desktop.is_null() {
        return true;
    }
    let mut name = [0u16; 64];
    let mut needed = 0u32;
    // SAFETY: `name` is writable for the length given; the handle is open until CloseDesktop.
    let ok = unsafe {
        GetUserObjectInformationW(
            desktop,
            UOI_NAME,
            name.as_mut_ptr().cast(),
            std::mem::size_of_val(&name) as u32,
            &mut needed,
        )
    };
    // SAFETY: the handle came from OpenInputDesktop and is closed once.
    unsafe { CloseDesktop(desktop) };
    if ok == 0 {
        return false;
    }
    let len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    !String::from_utf16_lossy(&name[..len]).eq_ignore_ascii_case("Default")
}

type OnSessionEvent = Box<dyn Fn(SessionEvent)>;

thread_local! {
    /// The watcher's callback, on the thread that owns its window.
    static ON_EVENT: std::cell::RefCell<Option<OnSessionEvent>> = const { std::cell::RefCell::new(None) };
}

unsafe extern "system" fn session_window(
    window: windows_sys::Win32::Foundation::HWND,
    message: u32,
    wparam: usize,
    lparam: isize,
) -> isize {
    use windows_sys::Win32::UI::WindowsAndMessaging::*;
    let event = match (message, wparam as u32) {
        (WM_WTSSESSION_CHANGE, WTS_SESSION_LOCK) => Some(SessionEvent::Locked(true)),
        (WM_WTSSESSION_CHANGE, WTS_SESSION_UNLOCK) => Some(SessionEvent::Locked(false)),
        (WM_POWERBROADCAST, PBT_APMSUSPEND) => Some(SessionEvent::Sleeping(true)),
        // Automatic resume comes first, whether or not a person is there; the other follows
        // when one is. Either means awake.
        (WM_POWERBROADCAST, PBT_APMRESUMEAUTOMATIC | PBT_APMRESUMESUSPEND) => {
            Some(SessionEvent::Sleeping(false))
        }
        _ => None,
    };
    if let Some(event) = event {
        ON_EVENT.with(|on| {
            if let Some(on) = on.borrow().as_ref() {
                on(event);
            }
        });
        if message == WM_POWERBROADCAST {
            return 1;
        }
    }
    // SAFETY: the arguments are the ones Windows gave this window procedure.
    unsafe { DefWindowProcW(window, message, wparam, lparam) }
}

/// Lock, unlock, sleep and resume as they happen: a message-only window on a thread of its own,
/// registered for the session's changes (`WTSRegisterSessionNotification`) and the power
/// manager's suspend and resume (`RegisterSuspendResumeNotification`), hands each to `on`.
/// Returns the window (as a number), or why there is none.
pub fn watch_session(on: impl Fn(SessionEvent) + Send + 'static) -> Result<isize, String> {
    use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
    use windows_sys::Win32::System::Power::RegisterSuspendResumeNotification;
    use windows_sys::Win32::System::RemoteDesktop::{
        WTSRegisterSessionNotification, NOTIFY_FOR_THIS_SESSION,
    };
    use windows_sys::Win32::UI::WindowsAndMessaging::*;
    let (made, window) = std::sync::mpsc::channel::<Result<isize, String>>();
    std::thread::Builder::new()
        .name("windows-session".into())
        .spawn(move || {
            ON_EVENT.with(|slot| *slot.borrow_mut() = Some(Box::new(on)));
            let class: Vec<u16> = "PresentlySessionWatcher\0".encode_utf16().collect();
            // SAFETY: the class name is NUL-terminated and static for the thread's life; the
            // window procedure is a valid `extern "system"` function.
            let hwnd = unsafe {
                let instance = GetModuleHandleW(std::ptr::null());
                let mut wc: WNDCLASSW = std::mem::zeroed();
                wc.lpfnWndProc = Some(session_window);
                wc.hInstance = instance;
                wc.lpszClassName = class.as_ptr();
                RegisterClassW(&wc);
                CreateWindowExW(
                    0,
                    class.as_ptr(),
                    class.as_ptr(),
                    0,
                    0,
                    0,
                    0,
                    0,
                    HWND_MESSAGE,
                    std::ptr::null_mut(),
                    instance,
                    std::ptr::null(),
                )
            };
            if hwnd.is_null() {
                let _ = made.send(Err(format!(
                    "Windows gave Presently no window to hear lock and sleep with ({})",
                    std::io::Error::last_os_error()
                )));
                return;
            }
            // SAFETY: `hwnd` is this thread's live window.
            unsafe {
                if WTSRegisterSessionNotification(hwnd, NOTIFY_FOR_THIS_SESSION) == 0 {
                    tracing::info!(error = %std::io::Error::last_os_error(), "the session's lock and unlock are not heard at once (the idle samples still see the lock)");
                }
                if RegisterSuspendResumeNotification(hwnd, DEVICE_NOTIFY_WINDOW_HANDLE) == 0 {
                    tracing::info!(error = %std::io::Error::last_os_error(), "sleep and resume are not heard (a resume is still seen by the clock's jump)");
                }
            }
            let _ = made.send(Ok(hwnd as isize));
            // SAFETY: a plain message loop on the window's own thread.
            unsafe {
                let mut msg: MSG = std::mem::zeroed();
                while GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
                    DispatchMessageW(&msg);
                }
            }
        })
        .map_err(|e| format!("no thread for the session watcher: {e}"))?;
    window
        .recv()
        .map_err(|_| "the session watcher ended before it began".to_string())?
}

/// Where Windows keeps each application's use of the microphone, under the person's own key.
pub const MICROPHONE_CONSENT: &str =
    r"Software\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore\microphone";

/// The applications in a consent store under `HKEY_CURRENT_USER\{path}`: packaged applications
/// as keys of their own, programs under `NonPackaged` (named by their path, `#` for `\`).
pub fn consent_entries(path: &str) -> Result<Vec<ConsentEntry>, String> {
    let root = windows_registry::CURRENT_USER.open(path).map_err(|e| {
        format!(
            "Windows keeps no record of microphone use here (Windows 10 1903 or later does): {e}"
        )
    })?;
    let read = |parent: &windows_registry::Key, name: String| {
        parent.open(&name).ok().map(|key| ConsentEntry {
            started: key.get_u64("LastUsedTimeStart").unwrap_or(0),
            stopped: key.get_u64("LastUsedTimeStop").unwrap_or(0),
            key: name,
        })
    };
    let mut entries = Vec::new();
    let names = root
        .keys()
        .map_err(|e| format!("the microphone's consent store could not be listed: {e}"))?;
    for name in names {
        if name.eq_ignore_ascii_case("NonPackaged") {
            let Ok(programs) = root.open(&name) else {
                continue;
            };
            if let Ok(names) = programs.keys() {
                entries.extend(names.filter_map(|n| read(&programs, n)));
            }
        } else {
            entries.extend(read(&root, name));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages Windows sends on lock, unlock, sleep and resume, posted to the watcher's
    /// window, come out as events, in order.
    #[test]
    fn lock_unlock_sleep_and_resume_reach_the_watcher() {
        use windows_sys::Win32::UI::WindowsAndMessaging::*;
        let (tx, rx) = std::sync::mpsc::channel();
        let window = watch_session(move |e| tx.send(e).unwrap()).expect("a watcher window");
        for (message, wparam) in [
            (WM_WTSSESSION_CHANGE, WTS_SESSION_LOCK),
            (WM_WTSSESSION_CHANGE, WTS_SESSION_UNLOCK),
            (WM_WTSSESSION_CHANGE, 0x1), // a console connect: nothing to report
            (WM_POWERBROADCAST, PBT_APMSUSPEND),
            (WM_POWERBROADCAST, PBT_APMRESUMEAUTOMATIC),
        ] {
            // SAFETY: the window lives on the watcher's thread until the process ends.
            let posted = unsafe { PostMessageW(window as _, message, wparam as usize, 1) };
            assert_ne!(posted, 0, "{}", std::io::Error::last_os_error());
        }
        let heard: Vec<SessionEvent> = (0..4)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(
            heard,
            [
                SessionEvent::Locked(true),
                SessionEvent::Locked(false),
                SessionEvent::Sleeping(true),
                SessionEvent::Sleeping(false)
            ]
        );
    }

    #[test]
    fn idle_time_and_lock_come_from_the_session() {
        match WindowsIdle.sample() {
            IdleSample::Known { idle_ms, locked } => {
                assert!(idle_ms < 86_400_000 * 50, "{idle_ms} ms");
                assert!(!locked, "the session's input desktop is Default");
            }
            other => panic!("Windows gave no idle time: {other:?}"),
        }
    }

    /// Written as Windows writes it: a program recording now (stop 0), one that recorded
    /// before, and a packaged application recording now.
    #[test]
    fn the_consent_store_says_who_records_now() {
        let path = format!(
            r"Software\Presently\tests\{}\microphone",
            std::process::id()
        );
        let root = windows_registry::CURRENT_USER.create(&path).unwrap();
        let zoom = root
            .create(r"NonPackaged\C:#Program Files#Zoom#bin#Zoom.exe")
            .unwrap();
        zoom.set_u64("LastUsedTimeStart", 133_700_000_000_000_000)
            .unwrap();
        zoom.set_u64("LastUsedTimeStop", 0).unwrap();
        let recorder = root.create(r"NonPackaged\C:#Tools#Recorder.exe").unwrap();
        recorder
            .set_u64("LastUsedTimeStart", 133_700_000_000_000_000)
            .unwrap();
        recorder
            .set_u64("LastUsedTimeStop", 133_700_000_100_000_000)
            .unwrap();
        let teams = root.create("MSTeams_8wekyb3d8bbwe").unwrap();
        teams
            .set_u64("LastUsedTimeStart", 133_700_000_000_000_000)
            .unwrap();
        teams.set_u64("LastUsedTimeStop", 0).unwrap();

        let entries = consent_entries(&path).unwrap();
        assert_eq!(entries.len(), 3, "{entries:?}");
        let apps = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            crate::calls::capturing_consent(&entries, &apps(&["zoom"])),
            Some("Zoom".into())
        );
        assert_eq!(
            crate::calls::capturing_consent(&entries, &apps(&["teams"])),
            Some("MSTeams".into())
        );
        assert_eq!(
            crate::calls::capturing_consent(&entries, &apps(&["recorder"])),
            None,
            "the recorder stopped"
        );
        windows_registry::CURRENT_USER
            .remove_tree(format!(r"Software\Presently\tests\{}", std::process::id()))
            .unwrap();
        assert!(consent_entries(&path)
            .unwrap_err()
            .contains("no record of microphone use"));
    }
}
