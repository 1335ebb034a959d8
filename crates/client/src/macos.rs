//! What macOS says, read with its own frameworks: the time since the last input (`user-idle`,
//! IOKit's `HIDIdleTime`), whether the screen is locked (the window server's session,
//! `CGSSessionScreenIsLocked`), and which applications record from a microphone now (CoreAudio's
//! process objects, macOS 14.2 and later: each one's bundle id and whether it is running input),
//! and sleep, wake, lock and unlock as they happen (the workspace's and the screen lock's
//! notifications).
//! Compiled for macOS only and type-checked by `scripts/test.sh` (zig); it cannot run here.

use crate::idle_source::{IdleSample, IdleSource, SessionEvent};
use objc2_core_audio::{
    kAudioHardwarePropertyProcessObjectList, kAudioObjectPropertyElementMain,
    kAudioObjectPropertyScopeGlobal, kAudioObjectSystemObject, kAudioProcessPropertyBundleID,
    kAudioProcessPropertyIsRunningInput, AudioObjectGetPropertyData,
    AudioObjectGetPropertyDataSize, AudioObjectID, AudioObjectPropertyAddress,
};
use objc2_core_foundation::{CFBoolean, CFRetained, CFString};
use std::ffi::c_void;
use std::ptr::NonNull;

/// Idle time and lock from the person's macOS session.
pub struct MacIdle;

impl IdleSource for MacIdle {
    fn sample(&self) -> IdleSample {
        match user_idle::UserIdle::get_time() {
            Ok(t) => IdleSample::Known {
                idle_ms: t.as_milliseconds() as u64,
                locked: screen_locked(),
            },
            Err(e) => IdleSample::Unavailable {
                reason: format!("macOS gave no idle time: {e:?}"),
            },
        }
    }
    fn name(&self) -> &'static str {
        "macos"
    }
}

/// Whether the screen is locked: the window server's session dictionary says so.
pub fn screen_locked() -> bool {
    let Some(session) = objc2_core_graphics::CGSessionCopyCurrentDictionary() else {
        return false;
    };
    let key = CFString::from_static_str("CGSSessionScreenIsLocked");
    // SAFETY: the key is a live CFString; a value found is owned by `session`, alive here.
    let value = unsafe { session.value((&*key as *const CFString).cast()) };
    if value.is_null() {
        return false;
    }
    // SAFETY: the window server keeps a CFBoolean under this key.
    unsafe { &*(value as *const CFBoolean) }.as_bool()
}

/// Sleep and wake (`NSWorkspaceWillSleepNotification`, `…DidWakeNotification`) and the screen's
/// lock and unlock (`com.apple.screenIsLocked` / `…Unlocked`, distributed notifications), each
/// handed to `on`. They are delivered through the main thread's run loop, which the app runs
/// (AppKit's); `presently-cli run` has none and sees the lock at each idle sample instead.
pub fn watch_session(on: impl Fn(SessionEvent) + Send + Sync + 'static) {
    use objc2_app_kit::{
        NSWorkspace, NSWorkspaceDidWakeNotification, NSWorkspaceWillSleepNotification,
    };
    use objc2_foundation::{
        NSDistributedNotificationCenter, NSNotification, NSNotificationCenter, NSString,
    };
    let on = std::sync::Arc::new(on);
    let observe = |center: &NSNotificationCenter, name: &NSString, event: SessionEvent| {
        let on = on.clone();
        let block = block2::RcBlock::new(move |_: NonNull<NSNotification>| on(event));
        // SAFETY: no sender filter and no queue (delivered on the posting thread); the block
        // only calls `on`, which is Send + Sync.
        let token = unsafe {
            center.addObserverForName_object_queue_usingBlock(Some(name), None, None, &block)
        };
        // Observed for as long as the process lives.
        std::mem::forget(token);
    };
    let workspace = NSWorkspace::sharedWorkspace().notificationCenter();
    // SAFETY: AppKit's notification names, constant for the process's life.
    let (sleep, wake) = unsafe {
        (
            NSWorkspaceWillSleepNotification,
            NSWorkspaceDidWakeNotification,
        )
    };
    observe(&workspace, sleep, SessionEvent::Sleeping(true));
    observe(&workspace, wake, SessionEvent::Sleeping(false));
    let screen = NSDistributedNotificationCenter::defaultCenter();
    observe(
        &screen,
        &NSString::from_str("com.apple.screenIsLocked"),
        SessionEvent::Locked(true),
    );
    observe(
        &screen,
        &NSString::from_str("com.apple.screenIsUnlocked"),
        SessionEvent::Locked(false),
    );
}

fn address(selector: u32) -> AudioObjectPropertyAddress {
    AudioObjectPropertyAddress {
        mSelector: selector,
        mScope: kAudioObjectPropertyScopeGlobal,
        mElement: kAudioObjectPropertyElementMain,
    }
}

/// One fixed-size property of a CoreAudio object.
fn property<T: Copy>(object: AudioObjectID, selector: u32, empty: T) -> Result<T, i32> {
    let address = address(selector);
    let mut value = empty;
    let mut size = std::mem::size_of::<T>() as u32;
    // SAFETY: every pointer is to a live local, and `size` is the size of `value`.
    let status = unsafe {
        AudioObjectGetPropertyData(
            object,
            NonNull::from(&address),
            0,
            std::ptr::null(),
            NonNull::from(&mut size),
            NonNull::from(&mut value).cast::<c_void>(),
        )
    };
    if status == 0 {
        Ok(value)
    } else {
        Err(status)
    }
}

/// The bundle ids of the applications recording from a microphone now.
pub fn recording_bundles() -> Result<Vec<String>, String> {
    let system = kAudioObjectSystemObject as AudioObjectID;
    let list = address(kAudioHardwarePropertyProcessObjectList);
    let mut size = 0u32;
    // SAFETY: pointers to live locals.
    let status = unsafe {
        AudioObjectGetPropertyDataSize(
            system,
            NonNull::from(&list),
            0,
            std::ptr::null(),
            NonNull::from(&mut size),
        )
    };
    if status != 0 {
        return Err(format!(
            "this macOS keeps no list of the applications using audio (macOS 14.2 or later does; CoreAudio said {status})"
        ));
    }
    let mut processes =
        vec![0 as AudioObjectID; size as usize / std::mem::size_of::<AudioObjectID>()];
    if processes.is_empty() {
        return Ok(Vec::new());
    }
    // SAFETY: `processes` holds `size` bytes.
    let status = unsafe {
        AudioObjectGetPropertyData(
            system,
            NonNull::from(&list),
            0,
            std::ptr::null(),
            NonNull::from(&mut size),
            NonNull::new(processes.as_mut_ptr().cast::<c_void>()).expect("a vector's buffer"),
        )
    };
    if status != 0 {
        return Err(format!(
            "CoreAudio did not list the applications using audio ({status})"
        ));
    }
    processes.truncate(size as usize / std::mem::size_of::<AudioObjectID>());
    let mut recording = Vec::new();
    for process in processes {
        if property::<u32>(process, kAudioProcessPropertyIsRunningInput, 0) != Ok(1) {
            continue;
        }
        let Ok(raw) =
            property::<*const CFString>(process, kAudioProcessPropertyBundleID, std::ptr::null())
        else {
            continue;
        };
        if let Some(raw) = NonNull::new(raw.cast_mut()) {
            // SAFETY: CoreAudio hands over a retained CFString (a "copy" property).
            let bundle: CFRetained<CFString> = unsafe { CFRetained::from_raw(raw) };
            recording.push(bundle.to_string());
        }
    }
    Ok(recording)
}
