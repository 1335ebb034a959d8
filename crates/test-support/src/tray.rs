//! The app's tray as a desktop shell sees it: a StatusNotifierItem and its dbusmenu, read and
//! clicked over D-Bus.

use crate::wait_for;
use std::collections::HashMap;
use std::time::Duration;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Value};

/// The app's tray as a StatusNotifierItem on the bus.
pub struct Tray {
    pub service: String,
    pub item_path: String,
    pub menu_path: String,
}

#[derive(Debug, Clone)]
pub struct MenuEntry {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
    pub toggle_state: Option<i32>,
    pub children: Vec<MenuEntry>,
}

impl MenuEntry {
    /// Every entry, depth first.
    pub fn flatten(&self) -> Vec<&MenuEntry> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.flatten());
        }
        out
    }

    pub fn find(&self, label: &str) -> Option<&MenuEntry> {
        self.flatten().into_iter().find(|e| e.label == label)
    }
}

type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

fn parse(layout: Layout) -> MenuEntry {
    let (id, props, children) = layout;
    let string = |k: &str| {
        props
            .get(k)
            .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
    };
    MenuEntry {
        id,
        // GTK mnemonics arrive as underscores.
        label: string("label").unwrap_or_default().replace('_', ""),
        enabled: props
            .get("enabled")
            .and_then(|v| bool::try_from(&**v).ok())
            .unwrap_or(true),
        toggle_state: props
            .get("toggle-state")
            .and_then(|v| i32::try_from(&**v).ok()),
        children: children
            .into_iter()
            .filter_map(|c| Layout::try_from(c).ok())
            .map(parse)
            .collect(),
    }
}

impl Tray {
    /// Finds the app's tray item on the bus (waits up to `timeout` for it to appear).
    pub fn find(bus: &Connection, timeout: Duration) -> Option<Tray> {
        let dbus = zbus::blocking::fdo::DBusProxy::new(bus).ok()?;
        wait_for(timeout, || {
            let names = dbus.list_names().ok()?;
            names
                .into_iter()
                .filter(|n| n.starts_with(':'))
                .find_map(|name| {
                    let reply = bus
                        .call_method(
                            Some(name.as_str()),
                            "/org/ayatana/NotificationItem",
                            Some("org.freedesktop.DBus.Introspectable"),
                            "Introspect",
                            &(),
                        )
                        .ok()?;
                    let xml: String = reply.body().deserialize().ok()?;
                    let node = xml
                        .split("<node name=\"")
                        .nth(1)?
                        .split('"')
                        .next()?
                        .to_owned();
                    let item_path = format!("/org/ayatana/NotificationItem/{node}");
                    Some(Tray {
                        service: name.to_string(),
                        menu_path: format!("{item_path}/Menu"),
                        item_path,
                    })
                })
        })
    }

    /// Calls a `com.canonical.dbusmenu` method on the app's menu.
    fn menu_call<B>(&self, bus: &Connection, method: &str, body: &B) -> zbus::Result<zbus::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        bus.call_method(
            Some(self.service.as_str()),
            self.menu_path.as_str(),
            Some("com.canonical.dbusmenu"),
            method,
            body,
        )
    }

    pub fn layout(&self, bus: &Connection) -> MenuEntry {
        self.try_layout(bus).expect("GetLayout answers")
    }

    fn try_layout(&self, bus: &Connection) -> zbus::Result<MenuEntry> {
        let reply = self.menu_call(bus, "GetLayout", &(0i32, -1i32, Vec::<String>::new()))?;
        let (_revision, layout): (u32, Layout) = reply.body().deserialize()?;
        Ok(parse(layout))
    }

    /// Clicks Quit and waits up to 10 s for `app` to end; its exit status, or `None` if it is still
    /// running. The app may end before it answers the click, so a click whose reply is lost
    /// counts once the process is gone.
    pub fn quit(
        &self,
        bus: &Connection,
        app: &mut std::process::Child,
    ) -> Option<std::process::ExitStatus> {
        let ended = |app: &mut std::process::Child| app.try_wait().ok().flatten();
        for _ in 0..50 {
            if let Some(status) = ended(app) {
                return Some(status);
            }
            let Some(id) = self
                .try_layout(bus)
                .ok()
                .and_then(|menu| menu.find("Quit").map(|item| item.id))
            else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            if self
                .menu_call(bus, "Event", &(id, "clicked", Value::from(0i32), 0u32))
                .is_ok()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        wait_for(Duration::from_secs(10), || ended(app))
    }

    /// Opens a submenu as a tray host does before a person can click inside it.
    pub fn open_submenu(&self, bus: &Connection, id: i32) {
        let _ = self.menu_call(bus, "AboutToShow", &(id,));
        self.event(bus, id, "opened");
    }

    pub fn click(&self, bus: &Connection, id: i32) {
        self.event(bus, id, "clicked");
    }

    /// Clicks the item labelled `label` as a tray host does: on the layout as it is now. The app
    /// rebuilds its menu when its state changes (a connection coming up, a status from another
    /// device), and an id read just before that no longer exists; the host then reads the new
    /// layout and the person clicks again.
    pub fn click_label(&self, bus: &Connection, label: &str) {
        let mut last = String::new();
        for _ in 0..50 {
            let Some(id) = self.layout(bus).find(label).map(|item| item.id) else {
                last = format!("no item \"{label}\" in the menu");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            match self.menu_call(bus, "Event", &(id, "clicked", Value::from(0i32), 0u32)) {
                Ok(_) => return,
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("clicking \"{label}\" in the tray menu: {last}");
    }

    fn event(&self, bus: &Connection, id: i32, what: &str) {
        self.menu_call(bus, "Event", &(id, what, Value::from(0i32), 0u32))
            .unwrap_or_else(|e| panic!("Event({what}) on item {id} is accepted: {e}"));
    }

    pub fn property(&self, bus: &Connection, name: &str) -> OwnedValue {
        let reply = bus
            .call_method(
                Some(self.service.as_str()),
                self.item_path.as_str(),
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &("org.kde.StatusNotifierItem", name),
            )
            .expect("StatusNotifierItem property");
        reply.body().deserialize::<OwnedValue>().expect("a variant")
    }
}
