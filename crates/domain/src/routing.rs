//! Routing: which agent of a team gets a waiting ticket.
//!
//! Only agents who are online, of the ticket's tier or above, and below their
//! capacity for the ticket's channel are eligible; routing never gives anyone
//! more. Among them the team's mode decides:
//! - **round robin**: whoever routing served longest ago;
//! - **least loaded**: the smallest share of their capacity in use;
//! - **skills**: the best match of language and skills, then the least loaded.
//!
//! Ties go to whoever was served longest ago, then to the lower id, so the
//! choice is a pure function of its inputs.

use crate::ids::UserId;
use crate::wire_enum;

wire_enum!(
    /// How a team gives out tickets.
    RoutingMode {
        Manual = "manual",
        RoundRobin = "round_robin",
        LeastLoaded = "least_loaded",
        Skills = "skills",
    }
);

/// An agent as routing sees them, for one ticket's channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub online: bool,
    pub tier: i64,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// Tickets of this channel they may hold at once.
    pub capacity: i64,
    /// Tickets of this channel they hold now (new or open).
    pub load: i64,
    /// When routing last gave them a ticket (Unix ms; 0: never).
    pub routed_at: i64,
}

impl Candidate {
    pub fn eligible(&self, need: &Need<'_>) -> bool {
        self.online && self.tier >= need.tier && self.load < self.capacity
    }

    /// Language (counted twice: a customer who cannot be understood is not
    /// served at all) and skills the ticket asks for.
    fn score(&self, need: &Need<'_>) -> usize {
        let lang = need.language.is_some_and(|l| {
            let primary = l.split('-').next().unwrap_or(l);
            self.languages
                .iter()
                .any(|x| x == l || x.split('-').next() == Some(primary))
        });
        usize::from(lang) * 2
            + need
                .skills
                .iter()
                .filter(|s| self.skills.contains(s))
                .count()
    }
}

/// What a ticket asks of its agent.
#[derive(Clone, Copy, Debug)]
pub struct Need<'a> {
    pub tier: i64,
    pub language: Option<&'a str>,
    /// The ticket's category and tags: skills that help.
    pub skills: &'a [String],
}

/// The agent to give the ticket to, or `None` when nobody eligible is free
/// (the ticket waits in the queue) or the team routes by hand.
pub fn choose(mode: RoutingMode, need: &Need<'_>, candidates: &[Candidate]) -> Option<UserId> {
    let eligible = candidates.iter().filter(|c| c.eligible(need));
    // Load as a share of capacity, compared without division: a/b < c/d ⇔ ad < cb.
    let lighter = |a: &Candidate, b: &Candidate| (a.load * b.capacity).cmp(&(b.load * a.capacity));
    let waited =
        |a: &Candidate, b: &Candidate| a.routed_at.cmp(&b.routed_at).then(a.user.cmp(&b.user));
    match mode {
        RoutingMode::Manual => None,
        RoutingMode::RoundRobin => eligible.min_by(|a, b| waited(a, b)),
        RoutingMode::LeastLoaded => eligible.min_by(|a, b| lighter(a, b).then(waited(a, b))),
        RoutingMode::Skills => eligible.min_by(|a, b| {
            b.score(need)
                .cmp(&a.score(need))
                .then(lighter(a, b))
                .then(waited(a, b))
        }),
    }
    .map(|c| c.user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agent(n: u128, load: i64, capacity: i64, routed_at: i64) -> Candidate {
        Candidate {
            user: UserId(uuid::Uuid::from_u128(n)),
            online: true,
            tier: 1,
            languages: vec!["en".into()],
            skills: vec![],
            capacity,
            load,
            routed_at,
        }
    }

    const ANY: Need<'static> = Need {
        tier: 1,
        language: None,
        skills: &[],
    };

    #[test]
    fn round_robin_serves_whoever_waited_longest() {
        let team = [
            agent(1, 0, 5, 300),
            agent(2, 4, 5, 100),
            agent(3, 0, 5, 200),
        ];
        assert_eq!(
            choose(RoutingMode::RoundRobin, &ANY, &team),
            Some(team[1].user)
        );
        assert_eq!(choose(RoutingMode::Manual, &ANY, &team), None);
    }

    #[test]
    fn least_loaded_compares_shares_of_capacity() {
        // 3 of 10 is lighter than 1 of 2.
        let team = [agent(1, 1, 2, 0), agent(2, 3, 10, 50)];
        assert_eq!(
            choose(RoutingMode::LeastLoaded, &ANY, &team),
            Some(team[1].user)
        );
    }

    #[test]
    fn skills_prefer_the_customers_language_then_skills_then_load() {
        let mut ru = agent(1, 3, 4, 0);
        ru.languages = vec!["ru".into()];
        let mut billing = agent(2, 0, 4, 0);
        billing.skills = vec!["billing".into()];
        let idle = agent(3, 0, 4, 0);
        let team = [ru.clone(), billing.clone(), idle];
        let skills = ["billing".to_string()];
        let need = Need {
            tier: 1,
            language: Some("ru-RU"),
            skills: &skills,
        };
        assert_eq!(choose(RoutingMode::Skills, &need, &team), Some(ru.user));
        let need = Need {
            language: Some("en"),
            ..need
        };
        assert_eq!(
            choose(RoutingMode::Skills, &need, &team),
            Some(billing.user)
        );
    }

    #[test]
    fn nobody_offline_full_or_of_a_lower_tier_is_chosen() {
        let mut away = agent(1, 0, 4, 0);
        away.online = false;
        let full = agent(2, 4, 4, 0);
        let mut junior = agent(3, 0, 4, 0);
        junior.tier = 1;
        let need = Need { tier: 2, ..ANY };
        for mode in RoutingMode::ALL {
            assert_eq!(
                choose(*mode, &need, &[away.clone(), full.clone(), junior.clone()]),
                None
            );
        }
    }

    proptest! {
        /// Whatever the team, the choice is eligible, and there is one when
        /// anyone is.
        #[test]
        fn the_choice_is_always_eligible(
            agents in proptest::collection::vec((any::<bool>(), 1i64..4, 0i64..6, 0i64..6, 0i64..5, any::<bool>()), 0..12),
            tier in 1i64..4,
            mode in proptest::sample::select(RoutingMode::ALL.to_vec()),
        ) {
            let team: Vec<Candidate> = agents.iter().enumerate().map(|(i, &(online, t, load, cap, at, ru))| Candidate {
                online, tier: t, load, capacity: cap, routed_at: at,
                languages: if ru { vec!["ru".into()] } else { vec![] },
                ..agent(i as u128, 0, 0, 0)
            }).collect();
            let need = Need { tier, language: Some("ru"), skills: &[] };
            let chosen = choose(mode, &need, &team);
            match chosen {
                Some(u) => prop_assert!(team.iter().any(|c| c.user == u && c.eligible(&need))),
                None => prop_assert!(mode == RoutingMode::Manual || !team.iter().any(|c| c.eligible(&need))),
            }
        }
    }
}
