//! Invariants over random histories.

use crate::common::*;
use presence::*;
use proptest::prelude::*;

/// The priority table as the model document states it, written out independently of the engine.
fn documented_priority(source: ClaimSource, status: &StatusId) -> u8 {
    match (source, status) {
        (ClaimSource::Admin, _) => 100,
        (ClaimSource::Manual | ClaimSource::Timed, s) if *s == StatusId::DND => 90,
        (ClaimSource::Call, _) => 70,
        (ClaimSource::Meeting, _) => 65,
        (ClaimSource::AfterCallWork, _) => 60,
        (ClaimSource::Manual | ClaimSource::Timed, _) => 50,
        _ => 0,
    }
}

fn selectable() -> Vec<StatusId> {
    rules()
        .catalog
        .selectable()
        .into_iter()
        .map(|e| e.id)
        .filter(|s| *s != StatusId::AVAILABLE && *s != StatusId::INVISIBLE)
        .collect()
}

#[derive(Debug, Clone)]
enum Add {
    Timed(usize),
    Meeting,
    Call,
}

fn add_strategy() -> impl Strategy<Value = Add> {
    prop_oneof![
        4 => (0..selectable().len()).prop_map(Add::Timed),
        1 => Just(Add::Meeting),
        1 => Just(Add::Call),
    ]
}

fn build(adds: &[Add]) -> (Rules, Person, Vec<ClaimId>) {
    let mut r = rules();
    r.policy.after_call_work = None;
    let mut w = World::new();
    w.rules = r.clone();
    let statuses = selectable();
    let mut ids = Vec::new();
    for (i, add) in adds.iter().enumerate() {
        let at = t(1 + i as i64);
        let far = Some(t(1_000_000));
        let id = match add {
            Add::Timed(k) => w.person.choose(&r, at, statuses[*k].clone(), far).unwrap(),
            Add::Meeting => w
                .person
                .start_activity(&r, at, Activity::Meeting, ext(&format!("m{i}")), None)
                .unwrap(),
            Add::Call => w
                .person
                .start_activity(&r, at, Activity::Call, ext(&format!("c{i}")), None)
                .unwrap(),
        };
        ids.push(id);
    }
    (r, w.person, ids)
}

fn reference_winner(person: &Person) -> StatusId {
    let claims = person.claims();
    let personal_top = claims
        .iter()
        .filter(|c| c.source.is_personal())
        .max_by_key(|c| (c.since, c.id));
    claims
        .iter()
        .filter(|c| !c.source.is_personal() || Some(c.id) == personal_top.map(|p| p.id))
        .max_by_key(|c| (documented_priority(c.source, &c.status), c.since, c.id))
        .map(|c| c.status.clone())
        .unwrap_or(StatusId::AVAILABLE)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Claims ended in any order leave exactly the top remaining one.
    #[test]
    fn claims_ended_in_any_order_leave_the_top_remaining_one(
        adds in prop::collection::vec(add_strategy(), 1..12),
        seed in any::<u64>(),
        keep_mask in any::<u16>(),
    ) {
        let (r, person, ids) = build(&adds);
        let to_end: Vec<ClaimId> = ids.iter().enumerate().filter(|(i, _)| keep_mask & (1 << i) == 0).map(|(_, id)| *id).collect();
        let mut forward = person.clone();
        let mut shuffled = to_end.clone();
        // A seeded Fisher-Yates so the two orders differ.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut backward = person.clone();
        let end = t(100);
        for id in &to_end {
            forward.end_claim(&r, end, *id).unwrap();
        }
        for id in &shuffled {
            backward.end_claim(&r, end, *id).unwrap();
        }
        let a = r.self_view(&forward, end).status.status;
        let b = r.self_view(&backward, end).status.status;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a, reference_winner(&forward));
    }
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    Choose(usize, Option<i64>),
    Invisible,
    Available,
    Report {
        device: u8,
        seq_step: i64,
        activity: u8,
        in_call: bool,
    },
    SignOut(u8),
    Call(bool, u8),
    Meeting(bool, u8),
    Pause(i64),
    Resume,
    CloseWrapUp,
    Admin(bool),
    Wait(i64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let n = selectable().len();
    prop_oneof![
        3 => (0..n, prop::option::of(1..7200i64)).prop_map(|(k, d)| Op::Choose(k, d)),
        1 => Just(Op::Invisible),
        1 => Just(Op::Available),
        5 => (0..3u8, -2..4i64, 0..3u8, any::<bool>()).prop_map(|(device, seq_step, activity, in_call)| Op::Report { device, seq_step, activity, in_call }),
        1 => (0..3u8).prop_map(Op::SignOut),
        1 => (any::<bool>(), 0..2u8).prop_map(|(s, k)| Op::Call(s, k)),
        1 => (any::<bool>(), 0..2u8).prop_map(|(s, k)| Op::Meeting(s, k)),
        1 => (1..7200i64).prop_map(Op::Pause),
        1 => Just(Op::Resume),
        1 => Just(Op::CloseWrapUp),
        1 => any::<bool>().prop_map(Op::Admin),
        4 => (1..2000i64).prop_map(Op::Wait),
    ]
}

struct Run {
    rules: Rules,
    person: Person,
    now: i64,
    seqs: [u64; 3],
}

impl Run {
    fn new() -> Run {
        Run {
            rules: rules(),
            person: Person::default(),
            now: 0,
            seqs: [0; 3],
        }
    }

    /// Applies one op; returns whether it was a stale report (which must change nothing).
    fn apply(&mut self, op: &Op) -> bool {
        let r = self.rules.clone();
        let now = t(self.now);
        let statuses = selectable();
        match op {
            Op::Choose(k, d) => {
                let _ =
                    self.person
                        .choose(&r, now, statuses[*k].clone(), d.map(|d| t(self.now + d)));
            }
            Op::Invisible => {
                self.person
                    .choose(&r, now, StatusId::INVISIBLE, None)
                    .unwrap();
            }
            Op::Available => {
                self.person
                    .choose(&r, now, StatusId::AVAILABLE, None)
                    .unwrap();
            }
            Op::Report {
                device,
                seq_step,
                activity,
                in_call,
            } => {
                let last = self.seqs[*device as usize] as i64;
                let seq = (last + seq_step).max(0) as u64;
                let activity = match activity {
                    0 => DeviceActivity::Active,
                    1 => DeviceActivity::Idle {
                        idle_for: Span::seconds(self.now % 900),
                    },
                    _ => DeviceActivity::Locked {
                        locked_for: Span::seconds(self.now % 60),
                    },
                };
                let report = DeviceReport {
                    device: dev(&format!("d{device}")),
                    seq,
                    activity,
                    in_call: *in_call,
                };
                let before = self.person.clone();
                let known = self.person.devices().contains_key(&report.device);
                match self.person.report(&r, now, &report) {
                    ReportOutcome::Applied => self.seqs[*device as usize] = seq,
                    ReportOutcome::Stale { .. } => {
                        assert!(known, "a first report is never stale");
                        // The report itself changes nothing; only what fell due by `now` (which
                        // settle applies first) may differ.
                        let mut settled = before;
                        settled.settle(&r, now);
                        assert_eq!(self.person, settled, "a stale report changed the state");
                        return true;
                    }
                }
            }
            Op::SignOut(d) => self.person.sign_out(&r, now, &dev(&format!("d{d}"))),
            Op::Call(start, k) => {
                let id = ext(&format!("call{k}"));
                if *start {
                    self.person
                        .start_activity(&r, now, Activity::Call, id, None)
                        .unwrap();
                } else {
                    self.person.end_activity(&r, now, Activity::Call, &id);
                }
            }
            Op::Meeting(start, k) => {
                let id = ext(&format!("meet{k}"));
                if *start {
                    self.person
                        .start_activity(&r, now, Activity::Meeting, id, None)
                        .unwrap();
                } else {
                    self.person.end_activity(&r, now, Activity::Meeting, &id);
                }
            }
            Op::Pause(d) => self
                .person
                .pause_notifications(&r, now, t(self.now + d))
                .unwrap(),
            Op::Resume => self.person.resume_notifications(&r, now),
            Op::CloseWrapUp => self.person.close_wrap_up(&r, now, None),
            Op::Admin(set) => {
                if *set {
                    self.person
                        .admin_set(&r, now, StatusId::BUSY, Some(t(self.now + 600)))
                        .unwrap();
                } else {
                    self.person.admin_clear(&r, now);
                }
            }
            Op::Wait(s) => {
                self.now += s;
                self.person.settle(&r, t(self.now));
            }
        }
        false
    }
}

fn history() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op_strategy(), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Invisible is never seen by others as anything but Offline, whatever else happens.
    #[test]
    fn invisible_is_only_ever_seen_as_offline(ops in history()) {
        let mut run = Run::new();
        for op in &ops {
            run.apply(op);
            let now = t(run.now);
            let me = run.rules.self_view(&run.person, now);
            let invisible_on_top = run.person.personal_stack().last().is_some_and(|c| c.status == StatusId::INVISIBLE);
            let admin = run.person.claims().iter().any(|c| c.source == ClaimSource::Admin);
            if invisible_on_top && !admin {
                prop_assert_eq!(&me.seen_by_others.status.status, &StatusId::OFFLINE, "after {:?}", op);
                prop_assert!(me.seen_by_others.last_seen.is_some());
            }
        }
    }

    /// A normal notification is never shown while DND, a pause or quiet hours hold, and is
    /// always held (with a reason), never dropped.
    #[test]
    fn normal_notifications_never_interrupt_a_hold(ops in history()) {
        let mut run = Run::new();
        let notice = Notice { sender: Some(user("someone")), urgent: false };
        for op in &ops {
            run.apply(op);
            let now = t(run.now);
            let holding = !matches!(run.rules.interruptibility(&run.person, now), Interruptibility::Normal)
                || !run.person.has_live_device(now);
            let delivery = run.rules.notification(&run.person, now, &notice);
            if holding {
                prop_assert!(matches!(delivery, Delivery::Hold { .. }), "{:?} after {:?}", delivery, op);
            } else {
                prop_assert_eq!(delivery, Delivery::Show);
            }
        }
    }

    /// A report whose sequence number is not above the last one never changes the result.
    #[test]
    fn stale_reports_change_nothing(ops in history()) {
        let mut run = Run::new();
        for op in &ops {
            let now_before = t(run.now);
            let seen_before = run.rules.team_view(&run.person, now_before);
            if run.apply(op) {
                prop_assert_eq!(run.rules.team_view(&run.person, t(run.now)), seen_before);
            }
        }
    }

    /// With no live device, others see Offline (unless an administrator or a desk-phone call
    /// says otherwise).
    #[test]
    fn no_live_device_means_offline_to_others(ops in history()) {
        let mut run = Run::new();
        for op in &ops {
            run.apply(op);
            let now = t(run.now);
            if !run.person.has_live_device(now) {
                let excused = run.person.claims().iter().any(|c| {
                    c.source == ClaimSource::Admin || (c.source == ClaimSource::Call && c.device.is_none())
                });
                if !excused {
                    prop_assert_eq!(run.rules.team_view(&run.person, now).status.status, StatusId::OFFLINE);
                }
            }
        }
    }

    /// Idle and then activity restores exactly the earlier status, after any history.
    #[test]
    fn idle_then_activity_restores_the_earlier_status(ops in history(), idle_for in 301..3599i64) {
        let mut run = Run::new();
        for op in &ops {
            run.apply(op);
        }
        // One device, active now, so that the status before idling is well defined.
        let r = run.rules.clone();
        let dev0 = dev("d0");
        let devices: Vec<DeviceId> = run.person.devices().keys().cloned().collect();
        for d in devices.iter().filter(|d| **d != dev0) {
            run.person.sign_out(&r, t(run.now), d);
        }
        run.seqs[0] += 1;
        let report = |seq, activity| DeviceReport { device: dev0.clone(), seq, activity, in_call: false };
        run.person.report(&r, t(run.now), &report(run.seqs[0], DeviceActivity::Active));
        let before = r.self_view(&run.person, t(run.now)).status.status;
        // Stay within every timed claim's life: only idleness may change anything.
        let horizon = run.person.claims().iter().filter_map(|c| c.until).min();
        let start = run.now;
        let back = start + idle_for;
        prop_assume!(horizon.is_none_or(|h| h > t(back)));
        prop_assume!(run.person.paused_until(t(start)).is_none_or(|p| p > t(back)));
        run.seqs[0] += 1;
        run.person.report(&r, t(start + 60), &report(run.seqs[0], DeviceActivity::Idle { idle_for: Span::seconds(60) }));
        run.seqs[0] += 1;
        run.person.report(&r, t(start + 60 + 60), &report(run.seqs[0], DeviceActivity::Idle { idle_for: Span::seconds(120) }));
        // Heartbeats while idle keep the lease.
        let mut at = start + 120;
        while at + 60 < back {
            at += 60;
            run.seqs[0] += 1;
            run.person.report(&r, t(at), &report(run.seqs[0], DeviceActivity::Idle { idle_for: Span::seconds(at - start) }));
        }
        run.seqs[0] += 1;
        run.person.report(&r, t(back), &report(run.seqs[0], DeviceActivity::Active));
        prop_assert_eq!(r.self_view(&run.person, t(back)).status.status, before);
    }
}
