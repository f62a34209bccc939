//! Per-agent budgets of a store: a limit in microdollars and the percentages of it at which the
//! store reports a crossing, once per threshold until the budget is set again.
//!
//! An agent's spend only ever grows (costs are never negative and figures never shrink), so its
//! thresholds are reached in ascending order and the crossed ones are always the first few. A
//! budget therefore keeps one atomic count of thresholds already reported: whichever caller raises
//! it with `fetch_max` owns the crossings between the old count and the new one, so two threads
//! seeing the same spend report each crossing once between them, and no lock is taken.

use std::hash::{BuildHasherDefault, Hash};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{fence, AtomicUsize, Ordering};

use dashmap::DashMap;
use rustc_hash::FxHasher;

/// Thresholds a budget gets when none are given.
pub const DEFAULT_THRESHOLDS: [u8; 3] = [50, 80, 100];

/// Why a budget was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetError {
  /// A limit of 0 has no percentages.
  ZeroLimit,
  /// A threshold outside 1..=255, with its place in the list given.
  Threshold { index: usize, value: u32 },
}

/// A budget as the caller asked for it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetRule {
  limit_micros: u64,
  thresholds: Box<[u8]>,
}

impl BudgetRule {
  /// Thresholds are percents of the limit in 1..=255, in any order; duplicates count once.
  pub fn new(limit_micros: u64, thresholds: &[u32]) -> Result<BudgetRule, BudgetError> {
    if limit_micros == 0 {
      return Err(BudgetError::ZeroLimit);
    }
    let mut percents = Vec::with_capacity(thresholds.len());
    for (index, &value) in thresholds.iter().enumerate() {
      match u8::try_from(value) {
        Ok(percent) if percent > 0 => percents.push(percent),
        _ => return Err(BudgetError::Threshold { index, value }),
      }
    }
    percents.sort_unstable();
    percents.dedup();
    Ok(BudgetRule {
      limit_micros,
      thresholds: percents.into(),
    })
  }

  pub fn with_default_thresholds(limit_micros: u64) -> Result<BudgetRule, BudgetError> {
    BudgetRule::new(limit_micros, &DEFAULT_THRESHOLDS.map(u32::from))
  }

  pub fn limit_micros(&self) -> u64 {
    self.limit_micros
  }

  /// Ascending and distinct.
  pub fn thresholds(&self) -> &[u8] {
    &self.thresholds
  }
}

/// Thresholds a spend has newly crossed, for the store to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossing {
  pub limit_micros: u64,
  pub spent_micros: u64,
  /// Ascending.
  pub thresholds: Vec<u8>,
}

/// Where an agent stands against its budget.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetStatus {
  pub limit_micros: u64,
  pub spent_micros: u64,
  /// Never below 0.
  pub remaining_micros: u64,
  /// May pass 100.
  pub used_percent: f64,
  /// The thresholds the spend has reached, ascending.
  pub crossed: Vec<u8>,
}

struct Budget {
  rule: BudgetRule,
  /// The spend at which each threshold is reached: the least `s` with `s * 100 >= t * limit`.
  reached_at: Box<[u64]>,
  /// How many thresholds, from the lowest, have had their crossing reported.
  reported: AtomicUsize,
}

impl Budget {
  fn new(rule: BudgetRule) -> Budget {
    let limit = u128::from(rule.limit_micros);
    let reached_at = rule
      .thresholds
      .iter()
      .map(|&percent| {
        let at = (u128::from(percent) * limit).div_ceil(100);
        u64::try_from(at).unwrap_or(u64::MAX)
      })
      .collect();
    Budget {
      rule,
      reached_at,
      reported: AtomicUsize::new(0),
    }
  }

  fn reached_by(&self, spent: u64) -> usize {
    self.reached_at.partition_point(|&at| at <= spent)
  }

  /// The crossings `spent` makes that nobody has reported yet, now this caller's to report.
  fn cross(&self, spent: u64) -> Option<Crossing> {
    // The common case, one load and one comparison: the next threshold is still ahead.
    let reported = self.reported.load(Relaxed);
    if self.reached_at.get(reported).is_none_or(|&at| spent < at) {
      return None;
    }
    let reached = self.reached_by(spent);
    let before = self.reported.fetch_max(reached, Relaxed);
    (reached > before).then(|| Crossing {
      limit_micros: self.rule.limit_micros,
      spent_micros: spent,
      thresholds: self.rule.thresholds[before..reached].to_vec(),
    })
  }

  fn status(&self, spent: u64) -> BudgetStatus {
    let limit = self.rule.limit_micros;
    BudgetStatus {
      limit_micros: limit,
      spent_micros: spent,
      remaining_micros: limit.saturating_sub(spent),
      used_percent: spent as f64 / limit as f64 * 100.0,
      crossed: self.rule.thresholds[..self.reached_by(spent)].to_vec(),
    }
  }
}

/// The budgets of one store, by agent key.
pub struct Budgets<K> {
  by_agent: DashMap<K, Budget, BuildHasherDefault<FxHasher>>,
  // Lets a store with no budgets skip the map on every batch it drains.
  count: AtomicUsize,
}

impl<K: Eq + Hash + Copy> Default for Budgets<K> {
  fn default() -> Self {
    Budgets {
      by_agent: DashMap::default(),
      count: AtomicUsize::new(0),
    }
  }
}

impl<K: Eq + Hash + Copy> Budgets<K> {
  /// Sets (or replaces) an agent's budget, forgetting the crossings reported under the old one,
  /// and returns the crossings its current spend already makes. `spent` is read only once the
  /// budget is in place, so a record counted concurrently is seen either here or by the
  /// `check` that follows its own counting, never by neither.
  pub fn set(&self, agent: K, rule: BudgetRule, spent: impl FnOnce() -> u64) -> Option<Crossing> {
    if self.by_agent.insert(agent, Budget::new(rule)).is_none() {
      self.count.fetch_add(1, Relaxed);
    }
    // Pairs with the fence in `check`: of this thread reading the spend and a counting thread
    // looking for budgets, at least one sees the other's write.
    fence(Ordering::SeqCst);
    let spent = spent();
    self.by_agent.get(&agent)?.cross(spent)
  }

  pub fn remove(&self, agent: &K) -> bool {
    let removed = self.by_agent.remove(agent).is_some();
    if removed {
      self.count.fetch_sub(1, Relaxed);
    }
    removed
  }

  pub fn is_empty(&self) -> bool {
    self.count.load(Relaxed) == 0
  }

  /// The crossings an agent's spend newly makes; called with the spend after each batch of its
  /// records is counted.
  pub fn check(&self, agent: &K, spent: u64) -> Option<Crossing> {
    fence(Ordering::SeqCst);
    if self.is_empty() {
      return None;
    }
    self.by_agent.get(agent)?.cross(spent)
  }

  pub fn status(&self, agent: &K, spent: u64) -> Option<BudgetStatus> {
    if self.is_empty() {
      return None;
    }
    Some(self.by_agent.get(agent)?.status(spent))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::atomic::AtomicU64;
  use std::sync::{Arc, Mutex};

  fn rule(limit: u64, thresholds: &[u32]) -> BudgetRule {
    BudgetRule::new(limit, thresholds).unwrap()
  }

  fn crossed(crossing: Option<Crossing>) -> Vec<u8> {
    crossing
      .map(|crossing| crossing.thresholds)
      .unwrap_or_default()
  }

  #[test]
  fn rules_sort_and_dedupe_thresholds_and_refuse_what_has_no_meaning() {
    assert_eq!(rule(10, &[100, 50, 80, 50]).thresholds(), &[50, 80, 100]);
    assert_eq!(rule(10, &[]).thresholds(), &[] as &[u8]);
    assert_eq!(rule(10, &[255, 1]).thresholds(), &[1, 255]);
    assert_eq!(
      BudgetRule::with_default_thresholds(10)
        .unwrap()
        .thresholds(),
      &DEFAULT_THRESHOLDS
    );
    assert_eq!(BudgetRule::new(0, &[50]), Err(BudgetError::ZeroLimit));
    assert_eq!(
      BudgetRule::new(10, &[50, 0]),
      Err(BudgetError::Threshold { index: 1, value: 0 })
    );
    assert_eq!(
      BudgetRule::new(10, &[256]),
      Err(BudgetError::Threshold {
        index: 0,
        value: 256
      })
    );
  }

  #[test]
  fn each_threshold_is_crossed_once_when_the_spend_reaches_it() {
    let budgets = Budgets::default();
    assert_eq!(budgets.set(7u32, rule(1_000, &[50, 80, 100]), || 0), None);
    assert_eq!(crossed(budgets.check(&7, 499)), Vec::<u8>::new());
    let crossing = budgets.check(&7, 500).unwrap();
    assert_eq!(
      crossing,
      Crossing {
        limit_micros: 1_000,
        spent_micros: 500,
        thresholds: vec![50]
      }
    );
    assert_eq!(budgets.check(&7, 700), None);
    // One jump past two thresholds reports both.
    assert_eq!(crossed(budgets.check(&7, 1_200)), vec![80, 100]);
    assert_eq!(budgets.check(&7, 5_000), None);
    assert_eq!(budgets.check(&8, 5_000), None);
  }

  #[test]
  fn thresholds_are_reached_exactly_not_by_rounded_percentages() {
    // 34% of a 3-micro limit is 1.02 micros: a spend of 1 has not reached it, 2 has.
    let budgets = Budgets::default();
    budgets.set(1u32, rule(3, &[34]), || 0);
    assert_eq!(budgets.check(&1, 1), None);
    assert_eq!(crossed(budgets.check(&1, 2)), vec![34]);
    // A limit near 2^53 keeps its arithmetic exact.
    let limit = (1u64 << 53) - 1;
    budgets.set(2, rule(limit, &[255]), || 0);
    let at = (255 * u128::from(limit)).div_ceil(100) as u64;
    assert_eq!(budgets.check(&2, at - 1), None);
    assert_eq!(crossed(budgets.check(&2, at)), vec![255]);
  }

  #[test]
  fn setting_a_budget_on_an_existing_spend_reports_what_it_already_crossed() {
    let budgets = Budgets::default();
    assert_eq!(
      crossed(budgets.set(3u32, rule(100, &[50, 80, 100]), || 85)),
      vec![50, 80]
    );
    assert_eq!(budgets.check(&3, 90), None);
    // Setting it again forgets the crossings: they are reported anew.
    assert_eq!(
      crossed(budgets.set(3, rule(100, &[50, 80, 100]), || 90)),
      vec![50, 80]
    );
    // A larger limit moves the thresholds away.
    assert_eq!(budgets.set(3, rule(1_000, &[50, 80, 100]), || 90), None);
    assert_eq!(crossed(budgets.check(&3, 500)), vec![50]);
  }

  #[test]
  fn status_floors_the_remaining_amount_and_lists_reached_thresholds() {
    let budgets = Budgets::default();
    assert_eq!(budgets.status(&1u32, 10), None);
    budgets.set(1u32, rule(200, &[50, 80, 100]), || 0);
    assert_eq!(
      budgets.status(&1, 170),
      Some(BudgetStatus {
        limit_micros: 200,
        spent_micros: 170,
        remaining_micros: 30,
        used_percent: 85.0,
        crossed: vec![50, 80]
      })
    );
    let over = budgets.status(&1, 300).unwrap();
    assert_eq!(over.remaining_micros, 0);
    assert_eq!(over.used_percent, 150.0);
    assert_eq!(over.crossed, vec![50, 80, 100]);
  }

  #[test]
  fn removing_a_budget_stops_its_crossings() {
    let budgets = Budgets::default();
    budgets.set(1u32, rule(100, &[50]), || 0);
    budgets.set(2u32, rule(100, &[50]), || 0);
    assert!(budgets.remove(&1));
    assert!(!budgets.remove(&1));
    assert_eq!(budgets.check(&1, 100), None);
    assert_eq!(budgets.status(&1, 100), None);
    assert!(!budgets.is_empty());
    assert!(budgets.remove(&2));
    assert!(budgets.is_empty());
  }

  #[test]
  fn concurrent_spenders_report_each_crossing_once() {
    let thresholds: Vec<u32> = (1..=100).collect();
    for _ in 0..20 {
      let budgets = Arc::new(Budgets::default());
      budgets.set(9u32, rule(40_000, &thresholds), || 0);
      let spend = Arc::new(AtomicU64::new(0));
      let reported = Arc::new(Mutex::new(Vec::new()));
      let spenders: Vec<_> = (0..4)
        .map(|_| {
          let (budgets, spend, reported) = (budgets.clone(), spend.clone(), reported.clone());
          std::thread::spawn(move || {
            for _ in 0..1_000 {
              let spent = spend.fetch_add(10, Relaxed) + 10;
              if let Some(crossing) = budgets.check(&9, spent) {
                reported.lock().unwrap().extend(crossing.thresholds);
              }
            }
          })
        })
        .collect();
      spenders
        .into_iter()
        .for_each(|spender| spender.join().unwrap());
      let mut reported = reported.lock().unwrap().clone();
      reported.sort_unstable();
      assert_eq!(reported, (1..=100).collect::<Vec<u8>>());
    }
  }

  #[test]
  fn a_budget_set_while_records_are_counted_misses_no_crossing() {
    for _ in 0..50 {
      let budgets = Arc::new(Budgets::default());
      let spend = Arc::new(AtomicU64::new(0));
      let reported = Arc::new(Mutex::new(Vec::new()));
      let spender = {
        let (budgets, spend, reported) = (budgets.clone(), spend.clone(), reported.clone());
        std::thread::spawn(move || {
          for _ in 0..1_000 {
            let spent = spend.fetch_add(1, Relaxed) + 1;
            if let Some(crossing) = budgets.check(&1u32, spent) {
              reported.lock().unwrap().extend(crossing.thresholds);
            }
          }
        })
      };
      if let Some(crossing) = budgets.set(1u32, rule(1_000, &[10, 100]), || spend.load(Relaxed)) {
        reported.lock().unwrap().extend(crossing.thresholds);
      }
      spender.join().unwrap();
      assert_eq!(*reported.lock().unwrap(), vec![10, 100]);
    }
  }
}
