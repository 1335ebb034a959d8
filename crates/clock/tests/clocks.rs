//! The manual clock wakes waits exactly when it reaches them, and never before.

use clock::{timeout, Clock, Elapsed, ManualClock, SystemClock};
use presence::{Span, Timestamp};
use std::time::Duration;

#[tokio::test]
async fn a_wait_wakes_when_the_clock_reaches_it_and_not_before() {
    let clock = ManualClock::new(Timestamp(1_000));
    let wait = tokio::spawn(clock.sleep_until(Timestamp(5_000)));
    clock.advance(Span(3_999));
    tokio::task::yield_now().await;
    assert!(!wait.is_finished(), "woke at 4999 for a wait until 5000");
    assert_eq!(clock.advance(Span(1)), Timestamp(5_000));
    wait.await.unwrap();
}

#[tokio::test]
async fn a_past_instant_is_no_wait() {
    let clock = ManualClock::new(Timestamp(10_000));
    clock.sleep_until(Timestamp(9_000)).await;
    clock.sleep(Duration::ZERO).await;
}

#[tokio::test]
async fn timeout_runs_on_the_clock_it_is_given() {
    let clock = ManualClock::new(Timestamp(0));
    let never = std::future::pending::<()>();
    let limited = {
        let clock = clock.clone();
        tokio::spawn(async move { timeout(&*clock, Duration::from_secs(10), never).await })
    };
    tokio::task::yield_now().await;
    clock.advance(Span::seconds(9));
    tokio::task::yield_now().await;
    assert!(!limited.is_finished());
    clock.advance(Span::seconds(1));
    assert_eq!(limited.await.unwrap(), Err(Elapsed));
    assert_eq!(
        timeout(&*clock, Duration::from_secs(1), async { 7 }).await,
        Ok(7)
    );
}

#[test]
fn a_clock_set_back_reads_back() {
    let clock = ManualClock::new(Timestamp(50_000));
    clock.set(Timestamp(20_000));
    assert_eq!(clock.now(), Timestamp(20_000));
    assert!(
        SystemClock.now().0 > 1_700_000_000_000,
        "the wall clock is in ms"
    );
}
