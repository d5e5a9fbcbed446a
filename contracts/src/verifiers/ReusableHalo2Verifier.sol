// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title zkinfer's reusable halo2 verifier (KZG on BN254, SHPLONK multi-open, keccak transcript)
/// @notice One deployment verifies proofs of every zkinfer model: the model's verifying key lives in
/// its own contract (`ZkinferVerifyingKey`), a word blob holding the transcript shape, the
/// constraint polynomial as a register program, the opening's rotation sets and MSM terms, the
/// fixed and permutation commitments and the SRS points. The algorithm is halo2-axiom 0.5's
/// `verify_proof` + `VerifierSHPLONK`; `zkinfer_codegen::reference` is its Rust twin.
/// @dev Blob layout: `zkinfer_codegen::plan::header`. Every input is validated: instance count and
/// proof length exact, each instance and evaluation < r, each point on the curve with coordinates
/// < q (or (0, 0), the identity). Any failure reverts with a custom error.
contract ReusableHalo2Verifier {
    /// @dev `vk` holds no zkinfer verifying key.
    error InvalidVerifyingKey();
    /// @dev The key expects `expected` public instances.
    error InstanceCount(uint256 expected, uint256 actual);
    /// @dev Instance `index` is not below the scalar field modulus.
    error InstanceNotInField(uint256 index);
    /// @dev The key's proofs are exactly `expected` bytes long.
    error ProofLength(uint256 expected, uint256 actual);
    /// @dev The proof's scalar at byte `offset` is not below the scalar field modulus.
    error ScalarNotInField(uint256 offset);
    /// @dev The proof's point at byte `offset` is not on BN254 (or not in canonical form).
    error PointNotOnCurve(uint256 offset);
    /// @dev The proof does not verify.
    error PairingFailed();
    /// @dev A precompile call failed.
    error PrecompileFailed();

    /// @notice Verifies `proof` for the public `instances` against the verifying key contract `vk`.
    /// @return Always true: every failure reverts with one of the errors above.
    function verifyProof(address vk, bytes calldata proof, uint256[] calldata instances)
        external
        view
        returns (bool)
    {
        assembly {
            // Memory: 0x00-0x7f scratch; 0x80-0x33f named slots (below); the key blob at 0x340,
            // then the registers, then work areas (slot 0x160 holds the first free byte).
            //   0x80 proof points before the evaluations    0xa0 register base
            //   0xc0 SHPLONK y   0xe0 v   0x100 u   0x120 z_0   0x140 r_outer   0x160 work
            //   0x180 points x*w^r   0x1a0 set factors   0x1c0 1/x   0x1e0 evaluations' offset
            //   0x200 powers of y   0x220 powers of x^n   0x240-0x2df MSM accumulator and term
            //   (0x2c0 holds 1/zdiff_0 until the MSM starts)   0x2e0 largest set
            //   0x300 proof offset   0x320 instances offset

            function fail(selector) {
                mstore(0, shl(224, selector))
                revert(0, 4)
            }
            function fail1(selector, a) {
                mstore(0, shl(224, selector))
                mstore(4, a)
                revert(0, 0x24)
            }
            function fail2(selector, a, b) {
                mstore(0, shl(224, selector))
                mstore(4, a)
                mstore(0x24, b)
                revert(0, 0x44)
            }
            function fr() -> r {
                r := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            }
            function fq() -> q {
                q := 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47
            }
            // Header word i of the key.
            function hw(i) -> v {
                v := mload(add(0x340, shl(5, i)))
            }
            // Address of register i.
            function reg(i) -> p {
                p := add(mload(0xa0), shl(5, i))
            }
            // Inverse by Fermat, through the modexp precompile (scratch at the work pointer).
            function inverse(a) -> inv {
                let p := mload(0x160)
                mstore(p, 0x20)
                mstore(add(p, 0x20), 0x20)
                mstore(add(p, 0x40), 0x20)
                mstore(add(p, 0x60), a)
                mstore(add(p, 0x80), sub(fr(), 2))
                mstore(add(p, 0xa0), fr())
                // Each precompile call: success, then its exact output size (a chain without the
                // precompile succeeds and writes nothing). Two checks in this order: Yul evaluates
                // arguments right to left, so `and(staticcall(..), eq(returndatasize(), n))` would
                // read the size before the call.
                if iszero(staticcall(gas(), 0x05, p, 0xc0, p, 0x20)) { fail(0x84e81692) }
                if iszero(eq(returndatasize(), 0x20)) { fail(0x84e81692) }
                inv := mload(p)
            }
            // Keccak of the transcript buffer `t` of `len` bytes (a lone 32-byte state gets a 0x01
            // byte, as snark-verifier's EvmTranscript); the new state replaces the buffer's head.
            function squeeze(t, len) -> c {
                if eq(len, 0x20) {
                    mstore8(add(t, 0x20), 1)
                    len := 0x21
                }
                let h := keccak256(t, len)
                mstore(t, h)
                c := mod(h, fr())
            }
            // Absorbs `len` calldata bytes at `src` and squeezes a challenge.
            function absorbSqueeze(t, src, len) -> c {
                calldatacopy(add(t, 0x20), src, len)
                c := squeeze(t, add(0x20, len))
            }
            // acc += scalar * (px, py)
            function msmTerm(px, py, scalar) {
                mstore(0x280, px)
                mstore(0x2a0, py)
                mstore(0x2c0, scalar)
                if iszero(staticcall(gas(), 0x07, 0x280, 0x60, 0x280, 0x40)) { fail(0x84e81692) }
                if iszero(eq(returndatasize(), 0x40)) { fail(0x84e81692) }
                if iszero(staticcall(gas(), 0x06, 0x240, 0x80, 0x240, 0x40)) { fail(0x84e81692) }
                if iszero(eq(returndatasize(), 0x40)) { fail(0x84e81692) }
            }

            // Loads and checks the key, the instance count and the proof length.
            function loadKey(key, proofLen, instLen) {
                let size := extcodesize(key)
                if lt(size, 0x460) { fail(0xa0c03121) }
                extcodecopy(key, 0x340, 0, size)
                // "\0zkinfer-vk-1" in the first 13 bytes.
                if iszero(
                    eq(
                        and(mload(0x340), not(sub(shl(152, 1), 1))),
                        0x007a6b696e6665722d766b2d3100000000000000000000000000000000000000
                    )
                ) {
                    fail(0xa0c03121)
                }
                mstore(0xa0, add(0x340, and(add(size, 0x1f), not(0x1f))))
                mstore(0x160, add(mload(0xa0), shl(5, hw(10))))
                if iszero(eq(instLen, hw(4))) { fail2(0x56819098, hw(4), instLen) }
                let npoints := add(add(add(hw(5), mul(3, hw(6))), hw(7)), add(1, hw(8)))
                mstore(0x80, npoints)
                let expected := add(shl(6, add(npoints, 2)), shl(5, hw(9)))
                if iszero(eq(proofLen, expected)) { fail2(0xc0545fa0, expected, proofLen) }
                mstore(0x1e0, add(mload(0x300), shl(6, npoints)))
            }

            // Every instance and evaluation < r; every point on the curve, coordinates < q.
            function validate() {
                let inst := mload(0x320)
                for { let i := 0 } lt(i, hw(4)) { i := add(i, 1) } {
                    if iszero(lt(calldataload(add(inst, shl(5, i))), fr())) { fail1(0x11c95187, i) }
                }
                let Q := fq()
                let R := fr()
                let proofOff := mload(0x300)
                let npoints := mload(0x80)
                let tail := add(mload(0x1e0), shl(5, hw(9)))
                for { let i := 0 } lt(i, add(npoints, 2)) { i := add(i, 1) } {
                    let p := add(proofOff, shl(6, i))
                    if iszero(lt(i, npoints)) { p := add(tail, shl(6, sub(i, npoints))) }
                    let x := calldataload(p)
                    let y := calldataload(add(p, 0x20))
                    if or(x, y) {
                        let ok := and(lt(x, Q), lt(y, Q))
                        ok := and(ok, eq(mulmod(y, y, Q), addmod(mulmod(x, mulmod(x, x, Q), Q), 3, Q)))
                        if iszero(ok) { fail1(0x8be2934e, sub(p, proofOff)) }
                    }
                }
                for { let p := mload(0x1e0) } lt(p, tail) { p := add(p, 0x20) } {
                    if iszero(lt(calldataload(p), R)) { fail1(0x5dff5c65, sub(p, proofOff)) }
                }
            }

            // The Fiat-Shamir challenges, in halo2's order.
            function transcript() {
                let ni := hw(4)
                let na := hw(5)
                let nl := hw(6)
                let t := mload(0x160)
                mstore(t, hw(3))
                calldatacopy(add(t, 0x20), mload(0x320), shl(5, ni))
                calldatacopy(add(t, add(0x20, shl(5, ni))), mload(0x300), shl(6, na))
                mstore(reg(0), squeeze(t, add(0x20, add(shl(5, ni), shl(6, na))))) // theta
                let p := add(mload(0x300), shl(6, na))
                mstore(reg(1), absorbSqueeze(t, p, shl(7, nl))) // beta
                mstore(reg(2), squeeze(t, 0x20)) // gamma
                p := add(p, shl(7, nl))
                let len := shl(6, add(add(nl, hw(7)), 1))
                mstore(reg(3), absorbSqueeze(t, p, len)) // y
                p := add(p, len)
                mstore(reg(4), absorbSqueeze(t, p, shl(6, hw(8)))) // x
                mstore(0xc0, absorbSqueeze(t, mload(0x1e0), shl(5, hw(9)))) // SHPLONK y
                mstore(0xe0, squeeze(t, 0x20)) // v
                mstore(0x100, absorbSqueeze(t, add(mload(0x1e0), shl(5, hw(9))), 0x40)) // u
                // Evaluations and constants into their registers.
                calldatacopy(reg(11), mload(0x1e0), shl(5, hw(9)))
                let dst := reg(add(11, hw(9)))
                let off := hw(11)
                for { let i := 0 } lt(i, hw(12)) { i := add(i, 1) } {
                    mstore(add(dst, shl(5, i)), hw(add(off, i)))
                }
            }

            // x^n; u - x w^r per rotation; per set its zdiff (product over the rotations it lacks),
            // z_0 (set 0's vanishing polynomial at u); the largest set's commitment count.
            function points() {
                let R := fr()
                let blob := 0x340
                let x := mload(reg(4))
                let xn := x
                for { let i := hw(1) } i { i := sub(i, 1) } { xn := mulmod(xn, xn, R) }
                mstore(reg(5), xn)
                let u := mload(0x100)
                let pts := mload(0x160)
                mstore(0x180, pts)
                let nrot := hw(20)
                let roff := add(blob, shl(5, hw(19)))
                for { let i := 0 } lt(i, nrot) { i := add(i, 1) } {
                    mstore(
                        add(pts, shl(5, i)),
                        addmod(u, sub(R, mulmod(x, mload(add(roff, shl(5, i))), R)), R)
                    )
                }
                let nsets := hw(22)
                let vz := add(pts, shl(5, nrot))
                mstore(0x1a0, vz)
                mstore(0x160, add(vz, shl(5, nsets)))
                let maxc := 1
                let at := add(blob, shl(5, hw(21)))
                for { let set := 0 } lt(set, nsets) { set := add(set, 1) } {
                    let sz := mload(at)
                    let c := mload(add(at, 0x20))
                    let nd := mload(add(at, 0x40))
                    if gt(c, maxc) { maxc := c }
                    let zdiff := 1
                    let q := add(at, shl(5, add(3, sz)))
                    for { let end := add(q, shl(5, nd)) } lt(q, end) { q := add(q, 0x20) } {
                        zdiff := mulmod(zdiff, mload(add(pts, shl(5, mload(q)))), R)
                    }
                    mstore(add(vz, shl(5, set)), zdiff)
                    if iszero(set) {
                        let z0 := 1
                        q := add(at, 0x60)
                        for { let end := add(q, shl(5, sz)) } lt(q, end) { q := add(q, 0x20) } {
                            z0 := mulmod(z0, mload(add(pts, shl(5, mload(q)))), R)
                        }
                        mstore(0x120, z0)
                    }
                    at := add(at, shl(5, add(add(3, mul(add(c, 2), sz)), nd)))
                }
                mstore(0x2e0, maxc)
            }

            // One batched inversion (x - w_i for the Lagrange rows, x^n - 1, x, set 0's zdiff), then
            // l_0, l_last, l_blind, the instance column at x, 1/x, 1/zdiff_0; returns 1/(x^n - 1).
            function lagrange() -> xnInv {
                let R := fr()
                let x := mload(reg(4))
                let rows := hw(4)
                if iszero(rows) { rows := 1 }
                let m := add(add(rows, hw(14)), 1) // Lagrange entries
                let lag := add(0x340, shl(5, hw(13)))
                let d := mload(0x160) // prefix products
                let inv := 0
                {
                    let xn := mload(reg(5))
                    let acc := 1
                    for { let i := 0 } lt(i, m) { i := add(i, 1) } {
                        mstore(add(d, shl(5, i)), acc)
                        acc := mulmod(acc, addmod(x, sub(R, mload(add(lag, shl(5, i)))), R), R)
                    }
                    let e := add(d, shl(5, m))
                    mstore(e, acc)
                    acc := mulmod(acc, addmod(xn, sub(R, 1), R), R)
                    mstore(add(e, 0x20), acc)
                    acc := mulmod(acc, x, R)
                    mstore(add(e, 0x40), acc)
                    acc := mulmod(acc, mload(mload(0x1a0)), R)
                    mstore(0x160, add(e, 0x60))
                    inv := inverse(acc)
                    mstore(0x160, d)
                    // Walk back: `inv` is the inverse of the product of all factors before.
                    mstore(0x2c0, mulmod(inv, mload(add(e, 0x40)), R)) // 1 / zdiff_0
                    inv := mulmod(inv, mload(mload(0x1a0)), R)
                    mstore(0x1c0, mulmod(inv, mload(add(e, 0x20)), R)) // 1 / x
                    inv := mulmod(inv, x, R)
                    xnInv := mulmod(inv, mload(e), R)
                    inv := mulmod(inv, addmod(xn, sub(R, 1), R), R)
                }
                let common := mulmod(addmod(mload(reg(5)), sub(R, 1), R), hw(2), R)
                let instanceEval := 0
                let lblind := 0
                for { let i := m } i {} {
                    i := sub(i, 1)
                    let w := mload(add(lag, shl(5, i)))
                    let li := mulmod(mulmod(w, common, R), mulmod(inv, mload(add(d, shl(5, i))), R), R)
                    inv := mulmod(inv, addmod(x, sub(R, w), R), R)
                    switch lt(i, rows)
                    case 1 {
                        if lt(i, hw(4)) {
                            instanceEval := addmod(
                                instanceEval,
                                mulmod(calldataload(add(mload(0x320), shl(5, i))), li, R),
                                R
                            )
                        }
                        if iszero(i) { mstore(reg(6), li) }
                    }
                    default {
                        switch eq(i, sub(m, 1))
                        case 1 { mstore(reg(7), li) }
                        default { lblind := addmod(lblind, li, R) }
                    }
                }
                mstore(reg(8), lblind)
                mstore(reg(9), instanceEval)
            }

            // Runs the constraint program; h(x) = folded constraints / (x^n - 1).
            function constraints(xnInv) {
                let R := fr()
                let rb := mload(0xa0)
                let h := 0
                let off := add(0x340, shl(5, hw(15)))
                for { let end := add(off, shl(5, hw(16))) } lt(off, end) { off := add(off, 0x20) } {
                    let w := mload(off)
                    let a := mload(add(rb, and(shr(32, w), 0xffff)))
                    let b := mload(add(rb, and(shr(16, w), 0xffff)))
                    // Cases in order of frequency (the switch tests them in turn).
                    switch shr(64, w)
                    case 3 { mstore(add(rb, and(shr(48, w), 0xffff)), mulmod(a, b, R)) }
                    case 2 { mstore(add(rb, and(shr(48, w), 0xffff)), addmod(a, sub(R, b), R)) }
                    case 9 { h := addmod(mulmod(h, mload(add(rb, 0x60)), R), mulmod(a, b, R), R) }
                    case 1 { mstore(add(rb, and(shr(48, w), 0xffff)), addmod(a, b, R)) }
                    case 6 {
                        // c * (a + beta b + gamma)
                        b := addmod(addmod(a, mulmod(mload(add(rb, 0x20)), b, R), R), mload(add(rb, 0x40)), R)
                        mstore(add(rb, and(shr(48, w), 0xffff)), mulmod(mload(add(rb, and(w, 0xffff))), b, R))
                    }
                    case 7 {
                        // c * (a + b + gamma)
                        b := addmod(addmod(a, b, R), mload(add(rb, 0x40)), R)
                        mstore(add(rb, and(shr(48, w), 0xffff)), mulmod(mload(add(rb, and(w, 0xffff))), b, R))
                    }
                    case 8 {
                        mstore(
                            add(rb, and(shr(48, w), 0xffff)),
                            addmod(mulmod(a, b, R), mload(add(rb, and(w, 0xffff))), R)
                        )
                    }
                    case 5 { h := addmod(mulmod(h, mload(add(rb, 0x60)), R), a, R) }
                    case 4 { mstore(add(rb, and(shr(48, w), 0xffff)), mod(sub(R, a), R)) }
                    default { fail(0xa0c03121) }
                }
                mstore(add(rb, 0x140), mulmod(h, xnInv, R))
            }

            // Set factors (set 0: 1, set i: v^i zdiff_i / zdiff_0), powers of SHPLONK y and of x^n.
            function factors() {
                let R := fr()
                let vz := mload(0x1a0)
                let z0DiffInv := mload(0x2c0)
                mstore(vz, 1)
                let v := mload(0xe0)
                let vp := v
                let end := add(vz, shl(5, hw(22)))
                for { let p := add(vz, 0x20) } lt(p, end) { p := add(p, 0x20) } {
                    mstore(p, mulmod(mulmod(vp, mload(p), R), z0DiffInv, R))
                    vp := mulmod(vp, v, R)
                }
                let yp := mload(0x160)
                mstore(0x200, yp)
                let acc := 1
                let sy := mload(0xc0)
                let maxc := mload(0x2e0)
                for { let i := 0 } lt(i, maxc) { i := add(i, 1) } {
                    mstore(add(yp, shl(5, i)), acc)
                    acc := mulmod(acc, sy, R)
                }
                let xp := add(yp, shl(5, maxc))
                mstore(0x220, xp)
                acc := 1
                let xn := mload(reg(5))
                let nq := hw(8)
                for { let i := 0 } lt(i, nq) { i := add(i, 1) } {
                    mstore(add(xp, shl(5, i)), acc)
                    acc := mulmod(acc, xn, R)
                }
                mstore(0x160, add(xp, shl(5, nq)))
            }

            // The set's Lagrange basis at u, into the work area: the key's denominators (without
            // x) times x^-(s-1) times the products of u - x w^r over the set's other points
            // (prefix products on the way up, suffix products on the way down).
            function lagrangeBasis(at, sz, lagOff) {
                let R := fr()
                let acc := 1
                for { let i := 1 } lt(i, sz) { i := add(i, 1) } { acc := mulmod(acc, mload(0x1c0), R) }
                let basis := mload(0x160)
                let pts := mload(0x180)
                let rots := add(at, 0x60)
                for { let k := 0 } lt(k, sz) { k := add(k, 1) } {
                    mstore(add(basis, shl(5, k)), mulmod(mload(add(lagOff, shl(5, k))), acc, R))
                    acc := mulmod(acc, mload(add(pts, shl(5, mload(add(rots, shl(5, k)))))), R)
                }
                acc := 1
                for { let k := sz } k {} {
                    k := sub(k, 1)
                    let b := add(basis, shl(5, k))
                    mstore(b, mulmod(mload(b), acc, R))
                    acc := mulmod(acc, mload(add(pts, shl(5, mload(add(rots, shl(5, k)))))), R)
                }
            }

            // A set of `sz` points (basis in the work area): sum_j y^j r_j over its `c`
            // commitments, r_j = sum_k eval_jk basis_k; returns it and the end of the indices.
            function multiPointSet(e, c, sz) -> inner, next {
                let R := fr()
                let rb := mload(0xa0)
                let basis := mload(0x160)
                let yp := mload(0x200)
                for { let end := add(yp, shl(5, c)) } lt(yp, end) { yp := add(yp, 0x20) } {
                    let rj := 0
                    for { let k := 0 } lt(k, sz) { k := add(k, 1) } {
                        rj := addmod(
                            rj,
                            mulmod(mload(add(rb, shl(5, mload(e)))), mload(add(basis, shl(5, k))), R),
                            R
                        )
                        e := add(e, 0x20)
                    }
                    inner := addmod(inner, mulmod(mload(yp), rj, R), R)
                }
                next := e
            }

            // A set of one point: each r_j is commitment j's evaluation times the one basis value
            // `l`; returns sum_j y^j r_j and the end of the `c` evaluation indices at `e`.
            function onePointSet(e, c, l) -> inner, next {
                let R := fr()
                let rb := mload(0xa0)
                let yp := mload(0x200)
                for { let end := add(yp, shl(5, c)) } lt(yp, end) { yp := add(yp, 0x20) } {
                    inner := addmod(inner, mulmod(mload(yp), mload(add(rb, shl(5, mload(e)))), R), R)
                    e := add(e, 0x20)
                }
                inner := mulmod(inner, l, R)
                next := e
            }

            // r_outer = sum over sets i of factor_i * sum_j y^j r_ij(u), where r_ij interpolates
            // commitment j's evaluations over set i's points (basis: `lagrangeBasis`).
            function interpolations() {
                let R := fr()
                let at := add(0x340, shl(5, hw(21)))
                let router := 0
                let nsets := hw(22)
                for { let set := 0 } lt(set, nsets) { set := add(set, 1) } {
                    let sz := mload(at)
                    let lagOff := add(add(at, 0x60), shl(5, add(sz, mload(add(at, 0x40)))))
                    let e := add(lagOff, shl(5, sz))
                    let inner := 0
                    switch sz
                    case 1 { inner, e := onePointSet(e, mload(add(at, 0x20)), mload(lagOff)) }
                    default {
                        lagrangeBasis(at, sz, lagOff)
                        inner, e := multiPointSet(e, mload(add(at, 0x20)), sz)
                    }
                    router := addmod(router, mulmod(mload(add(mload(0x1a0), shl(5, set))), inner, R), R)
                    at := e
                }
                mstore(0x140, router)
            }

            // The MSM (terms - r_outer G1 - z_0 h1 + u h2) and the pairing check.
            function finalCheck() {
                let R := fr()
                mstore(0x240, 0)
                mstore(0x260, 0)
                let npoints := mload(0x80)
                let vz := mload(0x1a0)
                let yp := mload(0x200)
                let xp := mload(0x220)
                let proofOff := mload(0x300)
                let keyPoints := add(0x340, shl(5, hw(17)))
                let off := add(0x340, shl(5, hw(23)))
                for { let end := add(off, shl(5, hw(24))) } lt(off, end) { off := add(off, 0x20) } {
                    let w := mload(off)
                    let pid := shr(48, w)
                    let scalar :=
                        mulmod(
                            mload(add(vz, shl(5, and(shr(32, w), 0xffff)))),
                            mulmod(
                                mload(add(yp, shl(5, and(shr(16, w), 0xffff)))),
                                mload(add(xp, shl(5, and(w, 0xffff)))),
                                R
                            ),
                            R
                        )
                    switch lt(pid, npoints)
                    case 1 {
                        let p := add(proofOff, shl(6, pid))
                        calldatacopy(0x280, p, 0x40)
                    }
                    default {
                        let q := add(keyPoints, shl(6, sub(pid, npoints)))
                        mstore(0x280, mload(q))
                        mstore(0x2a0, mload(add(q, 0x20)))
                    }
                    // A scalar of 1 (the first commitment of the first set) needs no ecMul.
                    if iszero(eq(scalar, 1)) {
                        mstore(0x2c0, scalar)
                        if iszero(staticcall(gas(), 0x07, 0x280, 0x60, 0x280, 0x40)) {
                            fail(0x84e81692)
                        }
                        if iszero(eq(returndatasize(), 0x40)) { fail(0x84e81692) }
                    }
                    if iszero(staticcall(gas(), 0x06, 0x240, 0x80, 0x240, 0x40)) {
                        fail(0x84e81692)
                    }
                    if iszero(eq(returndatasize(), 0x40)) { fail(0x84e81692) }
                }
                msmTerm(hw(25), hw(26), sub(R, mload(0x140)))
                let tail := add(mload(0x1e0), shl(5, hw(9)))
                msmTerm(calldataload(tail), calldataload(add(tail, 0x20)), mod(sub(R, mload(0x120)), R))
                msmTerm(calldataload(add(tail, 0x40)), calldataload(add(tail, 0x60)), mload(0x100))

                // e(outer, G2) * e(-h2, [s]G2) == 1
                let p := mload(0x160)
                mstore(p, mload(0x240))
                mstore(add(p, 0x20), mload(0x260))
                for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                    mstore(add(p, add(0x40, shl(5, i))), hw(add(27, i)))
                    mstore(add(p, add(0x100, shl(5, i))), hw(add(31, i)))
                }
                mstore(add(p, 0xc0), calldataload(add(tail, 0x40)))
                mstore(add(p, 0xe0), mod(sub(fq(), calldataload(add(tail, 0x60))), fq()))
                if iszero(staticcall(gas(), 0x08, p, 0x180, p, 0x20)) { fail(0x84e81692) }
                if iszero(eq(returndatasize(), 0x20)) { fail(0x84e81692) }
                if iszero(eq(mload(p), 1)) { fail(0x4df45e2f) }
            }

            mstore(0x300, proof.offset)
            mstore(0x320, instances.offset)
            loadKey(vk, proof.length, instances.length)
            validate()
            transcript()
            points()
            constraints(lagrange())
            factors()
            interpolations()
            finalCheck()
            mstore(0, 1)
            return(0, 0x20)
        }
    }
}
