"""A notification server with KDE Plasma's inhibition, for python-dbusmock.

Plasma's org.freedesktop.Notifications adds an `Inhibited` property and `Inhibit` /
`UnInhibit` methods. `Inhibited` is true while the person's Do not disturb is on (Plasma's
tray switch) or while any application holds an inhibition; the person turning Do not disturb
off by hand clears every inhibition, as Plasma does. `SetDoNotDisturb(b)` on the mock
interface stands for that switch.
"""

import dbus
from dbusmock import MOCK_IFACE

BUS_NAME = "org.freedesktop.Notifications"
MAIN_OBJ = "/org/freedesktop/Notifications"
MAIN_IFACE = "org.freedesktop.Notifications"
SYSTEM_BUS = False


def load(mock, parameters):
    mock.cookies = set()
    mock.next_cookie = 1
    mock.by_hand = False
    mock.AddProperties(MAIN_IFACE, dbus.Dictionary({"Inhibited": False}, signature="sv"))
    mock.AddMethods(
        MAIN_IFACE,
        [
            ("GetCapabilities", "", "as", 'ret = ["body", "inhibitions"]'),
            ("GetServerInformation", "", "ssss", 'ret = ("Plasma", "KDE", "5.27", "1.2")'),
            ("Notify", "susssasa{sv}i", "u", "ret = 1"),
            ("CloseNotification", "u", "", ""),
        ],
    )


def _update(self):
    self.Set(MAIN_IFACE, "Inhibited", dbus.Boolean(self.by_hand or bool(self.cookies)))


@dbus.service.method(MAIN_IFACE, in_signature="ssa{sv}", out_signature="u")
def Inhibit(self, desktop_entry, reason, hints):
    cookie = self.next_cookie
    self.next_cookie += 1
    self.cookies.add(cookie)
    _update(self)
    return dbus.UInt32(cookie)


@dbus.service.method(MAIN_IFACE, in_signature="u", out_signature="")
def UnInhibit(self, cookie):
    self.cookies.discard(int(cookie))
    _update(self)


@dbus.service.method(MOCK_IFACE, in_signature="b", out_signature="")
def SetDoNotDisturb(self, on):
    self.by_hand = bool(on)
    if not on:
        self.cookies.clear()
    _update(self)


@dbus.service.method(MOCK_IFACE, in_signature="", out_signature="u")
def Inhibitions(self):
    return dbus.UInt32(len(self.cookies))
