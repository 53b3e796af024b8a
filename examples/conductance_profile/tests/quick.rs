//! The conductance-profile fit in a quick configuration: the branch sites
//! and their parents, the objective's gradient against central differences,
//! and both methods' progress.

use conductance_profile::{
    Config, Objective, PROFILES, Problem, genetic_algorithm, gradient_descent,
};

fn quick() -> Config {
    Config {
        iterations: 20,
        ga_generations: 3,
        ..Config::full()
    }
}

/// The model and the truth's traces.
fn problem_and_target(config: &Config) -> (Problem, ruxley::Traces) {
    let problem = Problem::new(config).unwrap();
    let truth = problem.truth(config).unwrap();
    let target = problem
        .simulate(std::slice::from_ref(&truth))
        .unwrap()
        .remove(0);
    (problem, target)
}

#[test]
fn sites_follow_the_branch_tree() {
    let problem = Problem::new(&quick()).unwrap();
    let n = problem.sites.len();
    assert_eq!(n, problem.layout.trainables().len());
    for k in 0..PROFILES.len() {
        let own = problem.profile(k);
        assert!(own.len() > 100, "{} branches", own.len());
        let roots = own
            .iter()
            .filter(|&&i| problem.sites[i].2.is_none())
            .count();
        assert!(roots >= 1 && roots < own.len() / 10, "{roots} roots");
        for &i in &own {
            if let Some(p) = problem.sites[i].2 {
                assert_eq!(problem.sites[p].0, k);
                // A parent lies nearer the soma.
                assert!(problem.distance[p] < problem.distance[i]);
            }
        }
    }
}

#[test]
fn the_objective_gradient_matches_central_differences() {
    let config = quick();
    let (problem, target) = problem_and_target(&config);
    // A large lambda so that the prior's share of the gradient is checked too.
    let objective = Objective::new(&problem, &target, 0.05);
    let u = &problem.released;
    let (_, grad) = objective.value_and_grad(u).unwrap();
    let n = u.len();
    let direction: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 13) as f64 / 6.0 - 1.0)
        .collect();
    let along: f64 = grad.iter().zip(&direction).map(|(g, d)| g * d).sum();
    let loss = |h: f64| {
        let v: Vec<f64> = u.iter().zip(&direction).map(|(u, d)| u + h * d).collect();
        let t = problem
            .simulate(std::slice::from_ref(&v))
            .unwrap()
            .remove(0);
        let (data, prior) = objective.parts(&v, &t).unwrap();
        data + prior
    };
    let h = 1e-4;
    let fd = (loss(h) - loss(-h)) / (2.0 * h);
    let rel = (fd - along).abs() / along.abs();
    eprintln!(
        "directional derivative {along:.6e}, central difference {fd:.6e}, relative {rel:.1e}"
    );
    assert!(along.abs() > 1e-3);
    // 1.4e-6 measured (the differences' own O(h^2) error).
    assert!(rel.is_finite() && rel < 2e-5, "{rel}");
}

#[test]
fn gradient_descent_outpaces_ibea() {
    let config = quick();
    let (problem, target) = problem_and_target(&config);
    let objective = Objective::new(&problem, &target, config.lambda);
    let gd = gradient_descent(&objective, &config, &mut |_: &ruxley_optim::Progress| true).unwrap();
    assert_eq!(gd.losses.len(), config.iterations + 1);
    eprintln!("GD {:?}", gd.losses);
    assert!(gd.best_loss < 0.05 * gd.losses[0], "{:?}", gd.losses);
    let ga =
        genetic_algorithm(&objective, &config, &mut |_: &ruxley_optim::Progress| true).unwrap();
    eprintln!("IBEA {:?}", ga.losses);
    assert_eq!(ga.losses.len(), config.ga_generations + 1);
    assert!(ga.losses.iter().all(|l| l.is_finite()));
    // 40 simulations of IBEA stay far above 21 gradients of GD.
    assert!(ga.best_loss > 10.0 * gd.best_loss);
}

#[test]
fn the_posterior_is_the_scaled_loss_and_its_chains_are_diagnosed() {
    use conductance_profile::{Posterior, sample_posterior};
    use ruxley_hmc::LogDensity;
    let config = Config {
        chains: 2,
        warmup: 2,
        draws: 3,
        ..quick()
    };
    let (problem, target) = problem_and_target(&config);
    let objective = Objective::new(&problem, &target, config.lambda);
    let posterior = Posterior::new(&objective, 2.0);
    let u = &problem.released;
    let (loss, grad) = objective.value_and_grad(u).unwrap();
    // 338 traces of 401 samples, noise 2 mV: beta = N / (2 sigma^2).
    assert_eq!((target.len(), target.n_samples()), (338, 401));
    let beta = (338.0 * 401.0) / 8.0;
    let mut g = vec![0.0; u.len()];
    let logp = posterior.logp_and_grad(u, &mut g);
    assert_eq!(logp, -beta * loss);
    assert!(g.iter().zip(&grad).all(|(a, b)| *a == -beta * b));
    let run = sample_posterior(&posterior, u, &config, &|| {}).unwrap();
    assert_eq!(run.chains.len(), 2);
    assert!(run.chains.iter().all(|c| c.draws.len() == 3));
    assert_eq!(run.r_hat.len(), u.len());
    assert_eq!(run.ess.len(), u.len());
    assert!(run.gradients > 0);
    let (lo, hi) = (run.quantile(0, 0.05), run.quantile(0, 0.95));
    assert!(lo.is_finite() && lo <= hi);
}
