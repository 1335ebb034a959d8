//! CalDAV (RFC 4791) as the calendar poller needs it, over the server's one outbound client (its
//! CA, its resolver that refuses private networks), with Basic authentication:
//! - **find** the calendar from the address a person gives: the calendar itself, or the server's
//!   or their principal's address, from which their first calendar of events is taken
//!   (`current-user-principal` → `calendar-home-set` → its calendars, as RFC 6764 clients do);
//! - its **version**: the collection's `sync-token` (RFC 6578) or `getctag`, which change
//!   whenever anything in it does, so an unchanged calendar costs one small request;
//! - its **events** within a window: a `calendar-query` REPORT with a time range, each answer a
//!   whole iCalendar object (a series with its exceptions and the zones it uses).
//!
//! Every address an answer points to is checked as the one the person gave was.

use super::{read_body, Fetched};
use crate::app::App;
use crate::error::AppError;
use reqwest::{Method, StatusCode, Url};

const DAV: &str = "DAV:";
const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
const CALSERVER: &str = "http://calendarserver.org/ns/";
/// Redirects followed per request (a server moving `/dav` to `/dav/`, or to its own host).
const REDIRECTS: usize = 3;

/// A person's CalDAV account on the server's outbound client.
pub(super) struct Dav<'a> {
    pub app: &'a App,
    pub user: &'a str,
    pub password: &'a str,
}

/// What went wrong, as the poller and the person's settings need it.
#[derive(Debug)]
pub(super) enum DavError {
    /// 401 or 403: the user name or password is refused, or access was taken away.
    Refused(String),
    /// 404 or 410: nothing there (any more).
    Gone(String),
    /// Anything else: worth trying again later.
    Failed(String),
}

impl DavError {
    pub fn fetched(self) -> Fetched {
        match self {
            DavError::Refused(why) | DavError::Gone(why) => Fetched::Gone(why),
            DavError::Failed(why) => Fetched::Failed(why),
        }
    }

    /// For the person setting the calendar: they must change what they gave.
    pub fn for_person(self) -> AppError {
        match self {
            DavError::Refused(why) | DavError::Gone(why) | DavError::Failed(why) => {
                AppError::invalid(why)
            }
        }
    }
}

/// One `<response>` of a multistatus: its address and the properties found (200).
#[derive(Debug, Default)]
struct Found {
    href: String,
    props: Vec<Prop>,
}

#[derive(Debug)]
struct Prop {
    ns: String,
    name: String,
    /// The text within (trimmed).
    text: String,
    /// The `DAV:href`s within.
    hrefs: Vec<String>,
    /// The names of the elements directly within (`resourcetype`'s `calendar`).
    children: Vec<(String, String)>,
    /// The `name` attributes of the elements within (`supported-calendar-component-set`).
    names: Vec<String>,
}

impl Found {
    fn prop(&self, ns: &str, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.ns == ns && p.name == name)
    }

    fn is_calendar(&self) -> bool {
        self.prop(DAV, "resourcetype").is_some_and(|p| {
            p.children
                .iter()
                .any(|(n, c)| n == CALDAV && c == "calendar")
        })
    }

    /// Holds events: says VEVENT among its components, or says nothing (all of them).
    fn holds_events(&self) -> bool {
        self.prop(CALDAV, "supported-calendar-component-set")
            .is_none_or(|p| p.names.iter().any(|n| n.eq_ignore_ascii_case("VEVENT")))
    }
}

/// Reads a multistatus answer.
fn multistatus(xml: &str) -> Result<Vec<Found>, String> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| format!("the CalDAV server's answer is not XML: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name((DAV, "multistatus")) {
        return Err(
            "the CalDAV server's answer is not a WebDAV multistatus: is this a CalDAV address?"
                .into(),
        );
    }
    let mut out = Vec::new();
    for response in root
        .children()
        .filter(|n| n.has_tag_name((DAV, "response")))
    {
        let mut found = Found {
            href: text_of(response, (DAV, "href")).unwrap_or_default(),
            ..Found::default()
        };
        for propstat in response
            .children()
            .filter(|n| n.has_tag_name((DAV, "propstat")))
        {
            let ok = text_of(propstat, (DAV, "status")).is_some_and(|s| s.contains(" 200"));
            if !ok {
                continue;
            }
            for prop in propstat
                .children()
                .filter(|n| n.has_tag_name((DAV, "prop")))
                .flat_map(|p| p.children().filter(|n| n.is_element()))
            {
                found.props.push(Prop {
                    ns: prop.tag_name().namespace().unwrap_or_default().to_string(),
                    name: prop.tag_name().name().to_string(),
                    text: prop
                        .descendants()
                        .filter(|n| n.is_text())
                        .filter_map(|n| n.text())
                        .collect::<String>()
                        .trim()
                        .to_string(),
                    hrefs: prop
                        .descendants()
                        .filter(|n| n.has_tag_name((DAV, "href")))
                        .filter_map(|n| n.text())
                        .map(|t| t.trim().to_string())
                        .collect(),
                    children: prop
                        .children()
                        .filter(|n| n.is_element())
                        .map(|n| {
                            (
                                n.tag_name().namespace().unwrap_or_default().to_string(),
                                n.tag_name().name().to_string(),
                            )
                        })
                        .collect(),
                    names: prop
                        .descendants()
                        .filter_map(|n| n.attribute("name"))
                        .map(str::to_string)
                        .collect(),
                });
            }
        }
        out.push(found);
    }
    Ok(out)
}

fn text_of(node: roxmltree::Node, tag: (&str, &str)) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
}

const PROPFIND_KIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:resourcetype/><D:current-user-principal/><C:calendar-home-set/><C:supported-calendar-component-set/></D:prop>
</D:propfind>"#;

const PROPFIND_VERSION: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
  <D:prop><D:sync-token/><CS:getctag/></D:prop>
</D:propfind>"#;

/// `20270115T100000Z` for ms since 1970.
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

impl Dav<'_> {
    /// One WebDAV request: its status (2xx only) and its text, with redirects followed, each
    /// address checked.
    async fn ask(
        &self,
        method: &str,
        url: &Url,
        depth: &str,
        body: String,
    ) -> Result<(Url, String), DavError> {
        let method = Method::from_bytes(method.as_bytes()).expect("a WebDAV method");
        let mut url = url.clone();
        for _ in 0..=REDIRECTS {
            let response = self
                .app
                .webhooks
                .client()
                .request(method.clone(), url.clone())
                .basic_auth(self.user, Some(self.password))
                .header("depth", depth)
                .header("content-type", "application/xml; charset=utf-8")
                .body(body.clone())
                .send()
                .await
                .map_err(|e| {
                    DavError::Failed(format!(
                        "the CalDAV server: {}",
                        crate::app::webhooks::words(&e)
                    ))
                })?;
            let status = response.status();
            if status.is_redirection() {
                let to = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or_else(|| {
                        DavError::Failed(format!(
                            "the CalDAV server answered {status} without saying where to"
                        ))
                    })?;
                url = self.checked(to)?;
                continue;
            }
            return match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(DavError::Refused(format!(
                    "the CalDAV server answered {status}: it refuses this user name and password (an app password, where the provider gives those?), or no longer shares the calendar"
                ))),
                StatusCode::NOT_FOUND | StatusCode::GONE => Err(DavError::Gone(format!(
                    "the CalDAV server answered {status} for {}: the calendar is gone or moved; give its new address",
                    url.path()
                ))),
                s if s.is_success() => {
                    let text = read_body(response).await.map_err(DavError::Failed)?;
                    Ok((url, text))
                }
                s => Err(DavError::Failed(format!("the CalDAV server answered {s}"))),
            };
        }
        Err(DavError::Failed(format!(
            "the CalDAV server redirected more than {REDIRECTS} times"
        )))
    }

    /// An address an answer points to, checked as the person's own was.
    fn checked(&self, url: Url) -> Result<Url, DavError> {
        self.app
            .outbound_url(url.as_str(), "a CalDAV server's")
            .map_err(|e| DavError::Failed(format!("the CalDAV server points elsewhere: {e}")))
    }

    async fn propfind(
        &self,
        url: &Url,
        depth: &str,
        body: &str,
    ) -> Result<(Url, Vec<Found>), DavError> {
        let (at, text) = self.ask("PROPFIND", url, depth, body.to_string()).await?;
        Ok((at, multistatus(&text).map_err(DavError::Failed)?))
    }

    /// The calendar to follow from the address a person gave.
    pub async fn find_calendar(&self, given: &Url) -> Result<Url, DavError> {
        let (at, found) = self.propfind(given, "0", PROPFIND_KIND).await?;
        let Some(this) = found.into_iter().next() else {
            return Err(DavError::Failed(
                "the CalDAV server said nothing about that address".into(),
            ));
        };
        if this.is_calendar() {
            return if this.holds_events() {
                Ok(at)
            } else {
                Err(DavError::Gone(
                    "that calendar holds no events (tasks or journal only): give a calendar of events"
                        .into(),
                ))
            };
        }
        // The principal's calendars: from its home set, else the principal itself.
        let mut home = this
            .prop(CALDAV, "calendar-home-set")
            .and_then(|p| p.hrefs.first().cloned());
        if home.is_none() {
            if let Some(principal) = this
                .prop(DAV, "current-user-principal")
                .and_then(|p| p.hrefs.first().cloned())
            {
                let principal = self.joined(&at, &principal)?;
                let (p_at, p_found) = self.propfind(&principal, "0", PROPFIND_KIND).await?;
                home = p_found
                    .first()
                    .and_then(|f| f.prop(CALDAV, "calendar-home-set"))
                    .and_then(|p| p.hrefs.first())
                    .map(|h| self.joined(&p_at, h).map(|u| u.to_string()))
                    .transpose()?;
            }
        }
        let Some(home) = home else {
            return Err(DavError::Gone(
                "no calendars found at that address: give the calendar's own CalDAV address".into(),
            ));
        };
        let home = self.joined(&at, &home)?;
        let (h_at, calendars) = self.propfind(&home, "1", PROPFIND_KIND).await?;
        let first = calendars
            .iter()
            .filter(|f| f.is_calendar() && f.holds_events())
            .map(|f| f.href.clone())
            .min()
            .ok_or_else(|| {
                DavError::Gone("this account has no calendar of events on that server".into())
            })?;
        self.joined(&h_at, &first)
    }

    fn joined(&self, base: &Url, href: &str) -> Result<Url, DavError> {
        let url = base.join(href).map_err(|e| {
            DavError::Failed(format!(
                "the CalDAV server gave a broken address {href:?}: {e}"
            ))
        })?;
        self.checked(url)
    }

    /// The calendar's version (its sync-token, else its ctag); none if it keeps neither.
    pub async fn version(&self, calendar: &Url) -> Result<Option<String>, DavError> {
        let (_, found) = self.propfind(calendar, "0", PROPFIND_VERSION).await?;
        Ok(found.first().and_then(|f| {
            f.prop(DAV, "sync-token")
                .or_else(|| f.prop(CALSERVER, "getctag"))
                .map(|p| p.text.clone())
                .filter(|t| !t.is_empty())
        }))
    }

    /// The iCalendar objects with events in `from..to` (ms).
    pub async fn events(
        &self,
        calendar: &Url,
        from: i64,
        to: i64,
    ) -> Result<Vec<String>, DavError> {
        let query = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#,
            utc(from),
            utc(to)
        );
        let (_, text) = self.ask("REPORT", calendar, "1", query).await?;
        let found = multistatus(&text).map_err(DavError::Failed)?;
        Ok(found
            .into_iter()
            .filter_map(|f| {
                f.props
                    .into_iter()
                    .find(|p| p.ns == CALDAV && p.name == "calendar-data")
                    .map(|p| p.text)
            })
            .filter(|t| !t.is_empty())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multistatus_is_read_with_its_namespaces() {
        let xml = r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <response><href>/bea/work/</href>
    <propstat><prop><resourcetype><collection/><C:calendar/></resourcetype>
      <C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/></C:supported-calendar-component-set>
    </prop><status>HTTP/1.1 200 OK</status></propstat>
    <propstat><prop><current-user-principal/></prop><status>HTTP/1.1 404 Not Found</status></propstat>
  </response>
  <response><href>/bea/tasks/</href>
    <propstat><prop><resourcetype><collection/><C:calendar/></resourcetype>
      <C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set>
    </prop><status>HTTP/1.1 200 OK</status></propstat>
  </response>
</multistatus>"#;
        let found = multistatus(xml).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].is_calendar() && found[0].holds_events());
        assert!(
            found[0].prop(DAV, "current-user-principal").is_none(),
            "404s are not found"
        );
        assert!(found[1].is_calendar() && !found[1].holds_events());
        assert!(multistatus("<html>sign in</html>").is_err());
        assert!(multistatus("not xml").is_err());
    }
}
