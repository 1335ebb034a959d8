use presence::*;

/// A fixed origin: 2027-01-15 09:00:00 UTC, a Friday.
pub const T0: i64 = 1_800_003_600;

pub fn t(s: i64) -> Timestamp {
    Timestamp::from_secs(T0 + s)
}

pub fn rules() -> Rules {
    Rules {
        catalog: Catalog::with_default_custom(),
        policy: OrgPolicy {
            idle_after: Span::minutes(5),
            offline_after: Some(Span::hours(1)),
            // Long, so that tables can jump ahead without heartbeats; the lease tests set 90 s.
            device_lease: Span::hours(24),
            after_call_work: Some(Span::minutes(2)),
            auto_away: true,
            routing: true,
        },
    }
}

pub fn dev(name: &str) -> DeviceId {
    DeviceId::parse(name).unwrap()
}

pub fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

pub fn ext(name: &str) -> ExternalId {
    ExternalId::parse(name).unwrap()
}

pub fn custom(slug: &str) -> StatusId {
    StatusId::Custom(CustomStatusId::parse(slug).unwrap())
}

/// A person with one active desktop, reported at `t(0)`.
pub struct World {
    pub rules: Rules,
    pub person: Person,
    pub seq: u64,
}

impl World {
    pub fn new() -> World {
        World::with_rules(rules())
    }

    /// A world whose devices must heartbeat within `lease`, for the lease rules.
    pub fn with_lease(lease: Span) -> World {
        let mut r = rules();
        r.policy.device_lease = lease;
        World::with_rules(r)
    }

    pub fn with_rules(rules: Rules) -> World {
        let mut w = World {
            rules,
            person: Person::default(),
            seq: 0,
        };
        w.report(0, "desk", DeviceActivity::Active, false);
        w
    }

    pub fn report(
        &mut self,
        at: i64,
        device: &str,
        activity: DeviceActivity,
        in_call: bool,
    ) -> ReportOutcome {
        self.seq += 1;
        let report = DeviceReport {
            device: dev(device),
            seq: self.seq,
            activity,
            in_call,
        };
        self.person.report(&self.rules, t(at), &report)
    }

    pub fn active(&mut self, at: i64) {
        self.report(at, "desk", DeviceActivity::Active, false);
    }

    /// The desk has been idle since `since`, reported at `at`.
    pub fn idle(&mut self, at: i64, since: i64) {
        self.report(
            at,
            "desk",
            DeviceActivity::Idle {
                idle_for: Span::seconds(at - since),
            },
            false,
        );
    }

    pub fn choose(&mut self, at: i64, status: StatusId, until: Option<i64>) -> ClaimId {
        self.person
            .choose(&self.rules, t(at), status, until.map(t))
            .unwrap()
    }

    pub fn shown(&self, at: i64) -> StatusId {
        self.rules.self_view(&self.person, t(at)).status.status
    }

    pub fn seen(&self, at: i64) -> StatusId {
        self.rules.team_view(&self.person, t(at)).status.status
    }
}
