//! MockProver tests of the model circuit's lookups: separate and fused layouts, honest and tampered.

use super::*;
use crate::fixed::to_field;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::plonk::Assigned;
use halo2_base::QuantumCell::Constant;

/// Range bits of the fused test circuits.
const FUSED_BITS: usize = 6;

/// A circuit with a table of `(1, x, x²)` for x in -8..8 and `(2, x, -x)`, looking up the
/// given `(tag, x, y)` triples and range-checking `ranged` to [`FUSED_BITS`] bits, in the
/// separate layout (`fused == false`) or the fused one.
fn run_with(fused: bool, lookups: &[(u64, i128, i128)], ranged: &[i128]) -> bool {
    run_perturbed(fused, lookups, ranged, None).0
}

/// [`run_with`], with advice cell `perturb` (if any) incremented after the layout; returns
/// the verdict and the number of advice cells.
fn run_perturbed(
    fused: bool,
    lookups: &[(u64, i128, i128)],
    ranged: &[i128],
    perturb: Option<usize>,
) -> (bool, usize) {
    let mut table = Vec::new();
    for x in -8i128..8 {
        table.push([Fr::from(1), to_field(x), to_field(x * x)]);
        table.push([Fr::from(2), to_field(x), to_field(-x)]);
    }
    run_on_table(table, fused, lookups, ranged, perturb)
}

/// [`run_perturbed`] with the function table `table`.
fn run_on_table(
    table: Vec<[Fr; crate::chips::LOOKUP_WIDTH]>,
    fused: bool,
    lookups: &[(u64, i128, i128)],
    ranged: &[i128],
    perturb: Option<usize>,
) -> (bool, usize) {
    run_layout(table, fused, perturb, |ctx, range, functions| {
        for (tag, x, y) in lookups {
            let x = ctx.load_witness(to_field(*x));
            functions.look_up(ctx, *tag, x, to_field(*y));
            // Interleave range checks with the lookups, next to them.
            for v in ranged {
                let v = ctx.load_witness(to_field(*v));
                range.range_check(ctx, v, FUSED_BITS);
            }
        }
    })
}

/// A circuit with the function table `table` and the cells `body` lays out (separate or fused
/// layout), with advice cell `perturb` (if any) incremented afterwards: the verdict and the
/// number of advice cells.
fn run_layout(
    table: Vec<[Fr; crate::chips::LOOKUP_WIDTH]>,
    fused: bool,
    perturb: Option<usize>,
    body: impl FnOnce(
        &mut halo2_base::Context<Fr>,
        &halo2_base::gates::RangeChip<Fr>,
        &mut FunctionLookups,
    ),
) -> (bool, usize) {
    let k = 8;
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
        .use_k(k)
        .use_instance_columns(1);
    if !fused {
        builder = builder.use_lookup_bits(k - 1);
    }
    let shape = fused.then_some(FusedLookup {
        lookup_bits: FUSED_BITS,
        functions: true,
        mac_chain: false,
        chained_rescale: false,
    });
    let mut circuit = ModelCircuit::new(builder, Arc::new(table), usize::from(!fused), shape, None);
    let range = circuit.range_chip();
    {
        let ctx = circuit.builder.main(0);
        body(ctx, &range, &mut circuit.lookups);
        // A constant in a gate and one loaded alone (checked by the lookup when fused).
        let two = ctx.load_constant(Fr::from(2));
        let sum = range.gate().add(ctx, two, Constant(Fr::from(40)));
        assert_eq!(*sum.value(), Fr::from(42));
        if let Some(i) = perturb {
            ctx.advice[i] += Assigned::Trivial(Fr::one());
        }
    }
    circuit.finish_layout();
    let cells = circuit.builder.main(0).advice.len();
    circuit.builder.assigned_instances = vec![vec![]];
    // The planner's fast parameters are halo2-base's.
    let fast = super::super::planner::layout_params(&mut circuit.builder);
    let reference = circuit
        .builder
        .calculate_params(Some(super::super::BLINDING_ROWS));
    assert_eq!(
        format!("{fast:?}"),
        format!("{reference:?}"),
        "layout_params differs from calculate_params"
    );
    let ok = MockProver::run(k as u32, &circuit, vec![vec![]])
        .unwrap()
        .verify()
        .is_ok();
    circuit.clear();
    (ok, cells)
}

/// Both layouts agree.
fn run(lookups: &[(u64, i128, i128)]) -> bool {
    let separate = run_with(false, lookups, &[]);
    let fused = run_with(true, lookups, &[]);
    assert_eq!(separate, fused, "the layouts disagree on {lookups:?}");
    fused
}

#[test]
fn honest_lookups_are_accepted() {
    assert!(run(&[(1, 3, 9), (1, -8, 64), (2, 5, -5), (1, 0, 0)]));
}

#[test]
fn a_wrong_output_is_rejected() {
    assert!(!run(&[(1, 3, 10)]));
    assert!(!run(&[(1, 3, -9)]));
}

#[test]
fn another_functions_row_is_rejected() {
    // (2, 3, -3) is a row, but of function 2: a lookup tagged 1 cannot use it.
    assert!(!run(&[(1, 3, -3)]));
    assert!(!run(&[(2, 3, 9)]));
}

#[test]
fn inputs_outside_the_domain_and_untagged_rows_are_rejected() {
    assert!(!run(&[(1, 8, 64)]));
    assert!(!run(&[(3, 1, 1)]));
    // The all-zero padding row must not serve as a real entry: (0, 0, 0) with tag 1 needs (1, 0, 0).
    assert!(!run(&[(2, 0, 1)]));
}

/// A model's function table holds its reachable inputs and no more: a sigmoid's first and
/// last entry are looked up (in both layouts), one past either end is refused although the
/// function is defined there, and a model compiled before (`reachable_only: false`) keeps its
/// whole domain.
#[test]
fn a_function_table_ends_where_honest_inputs_end() {
    use crate::functions::table_value;
    let (mut model, _) = crate::circuit::tests::sigmoid_fixture();
    // The whole (unmirrored) table: mirroring is tested on its own.
    model.lookups_mut().for_each(|l| l.mirror = None);
    let l = *model.lookups_mut().next().expect("a sigmoid lookup");
    assert!(l.reachable_only && l.shift > 0, "{l:?}");
    let (lo, hi) = l.table_domain();
    let table = crate::circuit::function_table(&model);
    assert_eq!(table.len() as i128, hi - lo + 1);
    let entry = |x: i128| {
        (
            l.tag,
            x,
            table_value(l.func, x, l.shift, model.config.scale.0).unwrap(),
        )
    };
    for fused in [false, true] {
        let verdict = |x| run_on_table(table.clone(), fused, &[entry(x)], &[], None).0;
        assert!(verdict(lo) && verdict(hi) && verdict(0), "fused {fused}");
        assert!(!verdict(hi + 1) && !verdict(lo - 1), "fused {fused}");
    }
    model.lookups_mut().for_each(|l| l.reachable_only = false);
    let half = 1i128 << l.domain_bits;
    let whole = *model.lookups_mut().next().expect("a sigmoid lookup");
    assert_eq!(whole.table_domain(), (-half, half - 1));
    assert_eq!(
        crate::circuit::function_table(&model).len() as i128,
        2 * half
    );
}

/// A mirrored lookup ([`crate::ops::lookup::mirrored_look_up`]) over a table of `f(x) = 10 + x`
/// for `x` in `0..=8` (so `f(−x) = 20 − f(x)`): `(x, sign, f(|x|) as witnessed)`; the verdict
/// (both layouts agree) and the output's value.
fn run_mirrored(x: i128, sign: Fr, half: i128, perturb: Option<usize>) -> (bool, Fr, usize) {
    let table: Vec<_> = (0..=8i128)
        .map(|x| [Fr::from(1), to_field(x), to_field(10 + x)])
        .collect();
    let mut verdicts = Vec::new();
    let (mut y, mut cells) = (Fr::zero(), 0);
    for fused in [false, true] {
        let (ok, n) = run_layout(table.clone(), fused, perturb, |ctx, range, functions| {
            let x = ctx.load_witness(to_field(x));
            let out = crate::ops::lookup::mirrored_look_up(
                ctx,
                range.gate(),
                functions,
                (1, 20),
                x,
                (sign, to_field(half)),
            );
            y = *out.value();
        });
        verdicts.push(ok);
        cells = n;
    }
    assert_eq!(
        verdicts[0], verdicts[1],
        "the layouts disagree on {x}, {sign:?}, {half}"
    );
    (verdicts[0], y, cells)
}

#[test]
fn a_mirrored_lookup_gives_f_of_x_and_refuses_a_wrong_sign_or_half() {
    let (one, two) = (Fr::one(), Fr::from(2));
    for x in [-8i128, -3, -1, 0, 1, 5, 8] {
        let (ok, y, _) = run_mirrored(x, Fr::from(u64::from(x < 0)), 10 + x.abs(), None);
        assert!(ok && y == to_field(10 + x), "honest {x}: {ok}, {y:?}");
        // The other sign: −|x| is no table input.
        if x != 0 {
            let flipped = Fr::from(u64::from(x >= 0));
            assert!(
                !run_mirrored(x, flipped, 10 + x.abs(), None).0,
                "flipped sign at {x}"
            );
        }
        // f(|x|) off by one.
        assert!(
            !run_mirrored(x, Fr::from(u64::from(x < 0)), 11 + x.abs(), None).0,
            "half at {x}"
        );
    }
    // At 0 both signs give f(0) = c/2: the right value either way.
    let (ok, y, _) = run_mirrored(0, one, 10, None);
    assert!(ok && y == to_field(10), "sign 1 at 0: {ok}, {y:?}");
    // A sign of 1/2 makes a = 0 and y = c/2 = 10 for any x: only the bit check refuses it.
    let half_sign = two.invert().unwrap();
    let (ok, y, _) = run_mirrored(5, half_sign, 10, None);
    assert!(
        !ok && y == to_field(10),
        "a sign of 1/2 gave {y:?}, accepted: {ok}"
    );
    assert!(!run_mirrored(5, two, 10, None).0);
    // Off the table's domain.
    assert!(!run_mirrored(9, Fr::zero(), 19, None).0);
    assert!(!run_mirrored(-9, one, 19, None).0);
    // Every advice cell of an honest lookup of a nonzero input matters.
    for x in [-3i128, 5] {
        let honest = (Fr::from(u64::from(x < 0)), 10 + x.abs());
        let (_, _, cells) = run_mirrored(x, honest.0, honest.1, None);
        for i in 0..cells {
            let (ok, _, _) = run_mirrored(x, honest.0, honest.1, Some(i));
            assert!(
                !ok,
                "advice cell {i} of {cells} changed and accepted at {x}"
            );
        }
    }
}

/// Every advice cell of a fused layout matters: the input, its copy on the lookup row, the
/// output below it and the range-checked value (at the top of its range, so that +1 leaves
/// it); changing any one is rejected.
#[test]
fn fused_layout_rejects_every_single_cell_change() {
    let (lookups, ranged) = ([(1, 3, 9), (2, -4, 4), (1, -8, 64)], [63]);
    let (ok, cells) = run_perturbed(true, &lookups, &ranged, None);
    assert!(ok);
    for i in 0..cells {
        let (ok, _) = run_perturbed(true, &lookups, &ranged, Some(i));
        assert!(!ok, "advice cell {i} of {cells} changed and accepted");
    }
}

/// A constant that is also range-checked keeps one tag, its own: accepted when it lies in
/// the range, refused at synthesis (no proof) when it does not.
#[test]
fn fused_range_check_on_a_constant_holds_only_in_range() {
    let run = |value: u64| {
        let k = 8;
        let builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
            .use_k(k)
            .use_instance_columns(1);
        let shape = FusedLookup {
            lookup_bits: FUSED_BITS,
            functions: false,
            mac_chain: false,
            chained_rescale: false,
        };
        let mut circuit = ModelCircuit::new(builder, Arc::new(Vec::new()), 0, Some(shape), None);
        let range = circuit.range_chip();
        let ctx = circuit.builder.main(0);
        let c = ctx.load_constant(Fr::from(value));
        range.range_check(ctx, c, FUSED_BITS);
        circuit.finish_layout();
        circuit.builder.assigned_instances = vec![vec![]];
        circuit
            .builder
            .calculate_params(Some(super::super::BLINDING_ROWS));
        let verdict =
            MockProver::run(k as u32, &circuit, vec![vec![]]).map(|prover| prover.verify().is_ok());
        circuit.clear();
        verdict
    };
    assert_eq!(run(63).ok(), Some(true));
    assert!(run(64).is_err(), "an out-of-range constant was laid out");
}

#[test]
fn fused_range_checks_accept_exactly_the_range() {
    let honest = [(1, 3, 9), (2, -4, 4)];
    assert!(run_with(true, &honest, &[0, 1, 63]));
    assert!(!run_with(true, &honest, &[64]));
    assert!(!run_with(true, &honest, &[5, 1 << 20]));
    assert!(!run_with(true, &honest, &[-1]));
    // Function entries are no range entries: T·X is (1 + 1)·(-8) = -16 and (2 + 1)·(-1) = -3
    // in the table, yet neither passes a range check.
    assert!(!run_with(true, &honest, &[-16]));
    assert!(!run_with(true, &honest, &[-3]));
    assert!(
        run_with(false, &honest, &[63]),
        "the separate layout range-checks too"
    );
    assert!(!run_with(false, &honest, &[64]));
}

#[test]
fn sorted_distinct_is_sort_and_dedup_in_the_fields_order() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut values: Vec<Fr> = (0..2000)
        .map(|i| match i % 3 {
            0 => Fr::from(rng.gen_range(0..50u64)),
            1 => -Fr::from(rng.gen_range(0..50u64)),
            _ => <Fr as halo2_base::halo2_proofs::halo2curves::ff::Field>::random(&mut rng),
        })
        .collect();
    let fast = super::sorted_distinct(values.iter().copied());
    values.sort();
    values.dedup();
    assert_eq!(fast, values);
}
