//! Inputs that crashed a fuzz target (`tests/fuzz`), kept as regression tests on the stable
//! toolchain: each must now come back as an error naming the problem.

use std::path::PathBuf;

use zkinfer_prover::onnx::import_bytes;

fn regression(target: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz/regressions")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Pads of 2^55 + 1 once made the importer allocate 5·10^18 bytes for the padded tensor (abort).
#[test]
fn huge_pads_are_refused() {
    let err = import_bytes(&regression("onnx_compile", "huge_pads.onnx")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("pad (Pad)") && msg.contains("elements"),
        "{msg}"
    );
}

/// Pads past i64 overflow the padded shape: refused, not wrapped.
#[test]
fn pads_that_overflow_are_refused() {
    let mut model = regression("onnx_compile", "huge_pads.onnx");
    // The pads initializer holds 2^55 + 1 as its fifth value; make it i64::MAX.
    let at = model
        .windows(8)
        .position(|w| w == ((1i64 << 55) + 1).to_le_bytes())
        .expect("the 2^55 + 1 pad");
    model[at..at + 8].copy_from_slice(&i64::MAX.to_le_bytes());
    let msg = import_bytes(&model).unwrap_err().to_string();
    assert!(
        msg.contains("pad (Pad)") && msg.contains("overflow"),
        "{msg}"
    );
}

/// Pads that make a 16M-element tensor once ran the fuzzer out of memory: tensors are capped
/// at `MAX_TENSOR_ELEMENTS`.
#[test]
fn pads_beyond_the_tensor_size_limit_are_refused() {
    let err = import_bytes(&regression("onnx_compile", "pad_to_16m_elements.onnx")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("Pad") && msg.contains(&zkinfer_prover::onnx::MAX_TENSOR_ELEMENTS.to_string()),
        "{msg}"
    );
}

/// A STRING initializer with raw data reached tract-onnx's `unimplemented!` (a panic).
#[test]
fn non_numeric_initializers_are_refused() {
    let err = import_bytes(&regression("onnx_compile", "string_initializer.onnx")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("STRING is not numeric"), "{msg}");
}

/// A Slice with more starts than its input has axes (no `axes` given) once indexed past the
/// shape (panic): its default axes are now checked like given ones.
#[test]
fn a_slice_with_more_starts_than_axes_is_refused() {
    let model = regression("onnx_compile", "slice_more_starts_than_axes.onnx");
    let msg = import_bytes(&model).unwrap_err().to_string();
    assert!(
        msg.contains("Slice") && msg.contains("out of range"),
        "{msg}"
    );
}

/// A Conv with a pad of 14,680,063 once ran the fuzzer out of memory building its windows:
/// pads, strides and dilations are bounded, and so are the window entries they make.
#[test]
fn conv_pads_past_the_window_limit_are_refused() {
    let model = regression("onnx_compile", "conv_pads_14m.onnx");
    let msg = import_bytes(&model).unwrap_err().to_string();
    assert!(
        msg.contains("conv_1d (Conv)") && msg.contains("14680063"),
        "{msg}"
    );
}

/// A pooling kernel of size 0 with a huge dilation once made 2^22 windows per channel without a
/// single entry (no product bound caught it): kernel sizes are at least 1.
#[test]
fn a_zero_pooling_kernel_is_refused() {
    let model = regression("onnx_compile", "maxpool_kernel_zero.onnx");
    let msg = import_bytes(&model).unwrap_err().to_string();
    assert!(
        msg.contains("pool_zero (MaxPool)") && msg.contains("kernel [0]"),
        "{msg}"
    );
}

/// ConvTranspose strides shorter than the spatial rank once indexed past them (panic).
#[test]
fn conv_transpose_attributes_are_checked_per_axis() {
    let model = regression("onnx_compile", "conv_transpose_short_strides.onnx");
    let msg = import_bytes(&model).unwrap_err().to_string();
    assert!(
        msg.contains("deconv_short (ConvTranspose)") && msg.contains("one value per spatial axis"),
        "{msg}"
    );
}
