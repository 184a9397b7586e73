//! LiteRT (TensorFlow Lite's runtime, XNNPACK kernels on the CPU) for the two face models,
//! loaded at run time from the `libLiteRt.so` of the PyPI wheel `ai-edge-litert` through its C
//! API. On the development machine a landmark pass takes about 1.3 ms against tract's 4.4 ms.
//! Nothing is linked at build time: where the library is missing, avsync runs the same models
//! on tract (pure Rust).
//!
//! Only the handful of C functions below are used; their signatures and the layout of
//! `LiteRtRankedTensorType` are those of `ai-edge-litert` 2.3.0 (`scripts/install-deps.sh` pins
//! the wheel). The tensors live in host memory that this module owns, so no lock or copy
//! call is needed around a run.

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::Library;

use super::FaceError;

/// Where `scripts/install-deps.sh` puts the library.
pub const DEFAULT_LIBRARY: &str = "/usr/local/lib/avsync/litert/libLiteRt.so";
/// Environment variable naming another `libLiteRt.so`.
pub const LIBRARY_ENV: &str = "AVSYNC_LITERT_LIB";

type Handle = *mut c_void;
type Status = i32;
const STATUS_OK: Status = 0;
/// `kLiteRtHwAcceleratorCpu`.
const ACCELERATOR_CPU: i32 = 1;
/// `kLiteRtElementTypeFloat32`.
const ELEMENT_FLOAT32: i32 = 1;
/// `kLiteRtEnvOptionTagMinLoggerSeverity`, `kLiteRtAnyTypeInt`, `kLiteRtLogSeverityError`: the
/// library logs its set-up at INFO level to stderr otherwise.
const ENV_OPTION_MIN_LOG_SEVERITY: i32 = 25;
const ANY_TYPE_INT: i32 = 2;
const LOG_SEVERITY_ERROR: i64 = 3;
/// `LITERT_HOST_MEMORY_BUFFER_ALIGNMENT` in bytes.
const HOST_ALIGNMENT: usize = 64;
const MAX_RANK: usize = 8;

/// `LiteRtRankedTensorType`: the element type, then the layout (rank in the low 7 bits of
/// one `unsigned int` bit-field, dimensions, strides). 72 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct TensorType {
    element_type: i32,
    rank_bits: u32,
    dimensions: [i32; MAX_RANK],
    #[allow(dead_code)] // filled and read by the library
    strides: [u32; MAX_RANK],
}

impl TensorType {
    fn element_count(&self) -> Option<usize> {
        let rank = (self.rank_bits & 0x7f) as usize;
        self.dimensions
            .get(..rank)?
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
    }
}

/// `LiteRtAny` holding an integer.
#[repr(C)]
#[allow(dead_code)] // read by the library
struct AnyInt {
    kind: i32,
    value: i64,
}

/// `LiteRtEnvOption`.
#[repr(C)]
#[allow(dead_code)] // read by the library
struct EnvOption {
    tag: i32,
    value: AnyInt,
}

type Deallocator = Option<unsafe extern "C" fn(*mut c_void)>;

/// The C functions, resolved once; `_library` keeps them mapped.
pub struct Api {
    create_environment: unsafe extern "C" fn(i32, *const EnvOption, *mut Handle) -> Status,
    destroy_environment: unsafe extern "C" fn(Handle),
    create_model_from_buffer:
        unsafe extern "C" fn(Handle, *const c_void, usize, *mut Handle) -> Status,
    destroy_model: unsafe extern "C" fn(Handle),
    create_options: unsafe extern "C" fn(*mut Handle) -> Status,
    destroy_options: unsafe extern "C" fn(Handle),
    set_accelerators: unsafe extern "C" fn(Handle, i32) -> Status,
    create_compiled_model: unsafe extern "C" fn(Handle, Handle, Handle, *mut Handle) -> Status,
    destroy_compiled_model: unsafe extern "C" fn(Handle),
    get_signature: unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
    num_inputs: unsafe extern "C" fn(Handle, *mut usize) -> Status,
    num_outputs: unsafe extern "C" fn(Handle, *mut usize) -> Status,
    input_tensor: unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
    output_tensor: unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
    tensor_type: unsafe extern "C" fn(Handle, *mut TensorType) -> Status,
    create_host_buffer: unsafe extern "C" fn(
        *const TensorType,
        *mut c_void,
        usize,
        Deallocator,
        *mut Handle,
    ) -> Status,
    destroy_buffer: unsafe extern "C" fn(Handle),
    run: unsafe extern "C" fn(Handle, usize, usize, *mut Handle, usize, *mut Handle) -> Status,
    _library: Library,
}

impl Api {
    /// The library named by [`LIBRARY_ENV`], else [`DEFAULT_LIBRARY`].
    pub fn library_path() -> PathBuf {
        std::env::var_os(LIBRARY_ENV)
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_LIBRARY), PathBuf::from)
    }

    /// Loads the library and resolves every function; a missing one is an error, not a crash
    /// later.
    pub fn load(path: &Path) -> Result<Arc<Api>, FaceError> {
        let err = |message: String| FaceError::Model { model: "LiteRT", message };
        // SAFETY: loading runs the library's initialisers; libLiteRt's only register its
        // CPU accelerator.
        let library = unsafe { Library::new(path) }
            .map_err(|e| err(format!("cannot load {}: {e}", path.display())))?;
        let lib = &library;
        Ok(Arc::new(Api {
            create_environment: symbol(lib, "LiteRtCreateEnvironment")?,
            destroy_environment: symbol(lib, "LiteRtDestroyEnvironment")?,
            create_model_from_buffer: symbol(lib, "LiteRtCreateModelFromBuffer")?,
            destroy_model: symbol(lib, "LiteRtDestroyModel")?,
            create_options: symbol(lib, "LiteRtCreateOptions")?,
            destroy_options: symbol(lib, "LiteRtDestroyOptions")?,
            set_accelerators: symbol(lib, "LiteRtSetOptionsHardwareAccelerators")?,
            create_compiled_model: symbol(lib, "LiteRtCreateCompiledModel")?,
            destroy_compiled_model: symbol(lib, "LiteRtDestroyCompiledModel")?,
            get_signature: symbol(lib, "LiteRtGetModelSignature")?,
            num_inputs: symbol(lib, "LiteRtGetNumSignatureInputs")?,
            num_outputs: symbol(lib, "LiteRtGetNumSignatureOutputs")?,
            input_tensor: symbol(lib, "LiteRtGetSignatureInputTensorByIndex")?,
            output_tensor: symbol(lib, "LiteRtGetSignatureOutputTensorByIndex")?,
            tensor_type: symbol(lib, "LiteRtGetRankedTensorType")?,
            create_host_buffer: symbol(lib, "LiteRtCreateTensorBufferFromHostMemory")?,
            destroy_buffer: symbol(lib, "LiteRtDestroyTensorBuffer")?,
            run: symbol(lib, "LiteRtRunCompiledModel")?,
            _library: library,
        }))
    }
}

/// The function `name` of `library`, copied out of its `Symbol`.
fn symbol<T: Copy>(library: &Library, name: &str) -> Result<T, FaceError> {
    let c_name = format!("{name}\0");
    // SAFETY: `T` is the C API's signature for `name` (module docs); the caller keeps the
    // library loaded as long as it uses the pointer.
    unsafe { library.get::<T>(c_name.as_bytes()) }
        .map(|f| *f)
        .map_err(|e| FaceError::Model { model: "LiteRT", message: format!("{name}: {e}") })
}

/// 64 bytes of floats: a `Vec` of these is host memory aligned as LiteRT wants it.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Block([f32; HOST_ALIGNMENT / 4]);

/// One tensor in host memory this module owns, wrapped as a LiteRT tensor buffer.
struct HostTensor {
    memory: Vec<Block>,
    len: usize,
    handle: Handle,
}

impl HostTensor {
    fn floats(&self) -> &[f32] {
        // SAFETY: `memory` holds at least `len` floats, contiguous and initialised.
        unsafe { std::slice::from_raw_parts(self.memory.as_ptr().cast::<f32>(), self.len) }
    }

    fn floats_mut(&mut self) -> &mut [f32] {
        // SAFETY: as above, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.memory.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

/// A LiteRT status as a result.
fn check(what: &'static str, status: Status, call: &str) -> Result<(), FaceError> {
    if status == STATUS_OK {
        Ok(())
    } else {
        Err(FaceError::Model {
            model: what,
            message: format!("LiteRT {call} failed with status {status}"),
        })
    }
}

/// One model, compiled for the CPU, with its input and output tensors: used by one thread.
pub struct Network {
    api: Arc<Api>,
    what: &'static str,
    environment: Handle,
    model: Handle,
    compiled: Handle,
    /// The flatbuffer, aligned; LiteRT reads it for the model's lifetime.
    _bytes: Vec<Block>,
    inputs: Vec<HostTensor>,
    outputs: Vec<HostTensor>,
}

// SAFETY: the handles belong to this network alone and are used from one thread at a time
// (`&mut self` for every call that touches them).
unsafe impl Send for Network {}

impl Network {
    /// Compiles the `.tflite` flatbuffer `bytes` for the CPU (XNNPACK).
    pub fn new(api: &Arc<Api>, bytes: &[u8], what: &'static str) -> Result<Network, FaceError> {
        let mut aligned =
            vec![Block([0.0; HOST_ALIGNMENT / 4]); bytes.len().div_ceil(HOST_ALIGNMENT)];
        // SAFETY: `aligned` spans at least `bytes.len()` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                aligned.as_mut_ptr().cast::<u8>(),
                bytes.len(),
            )
        };
        let mut net = Network {
            api: Arc::clone(api),
            what,
            environment: std::ptr::null_mut(),
            model: std::ptr::null_mut(),
            compiled: std::ptr::null_mut(),
            _bytes: aligned,
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        net.compile(bytes.len())?;
        Ok(net)
    }

    fn compile(&mut self, len: usize) -> Result<(), FaceError> {
        let api = Arc::clone(&self.api);
        let what = self.what;
        let quiet = EnvOption {
            tag: ENV_OPTION_MIN_LOG_SEVERITY,
            value: AnyInt { kind: ANY_TYPE_INT, value: LOG_SEVERITY_ERROR },
        };
        // SAFETY: every call below gets live handles made here and out-pointers to locals; a
        // handle is stored in `self` as soon as it exists, so `Drop` frees it on any error.
        unsafe {
            check(
                what,
                (api.create_environment)(1, &quiet, &mut self.environment),
                "CreateEnvironment",
            )?;
            let bytes = self._bytes.as_ptr().cast::<c_void>();
            check(
                what,
                (api.create_model_from_buffer)(self.environment, bytes, len, &mut self.model),
                "CreateModelFromBuffer",
            )?;
            let mut options: Handle = std::ptr::null_mut();
            check(what, (api.create_options)(&mut options), "CreateOptions")?;
            let compiled = check(
                what,
                (api.set_accelerators)(options, ACCELERATOR_CPU),
                "SetOptionsHardwareAccelerators",
            )
            .and_then(|()| {
                check(
                    what,
                    (api.create_compiled_model)(
                        self.environment,
                        self.model,
                        options,
                        &mut self.compiled,
                    ),
                    "CreateCompiledModel",
                )
            });
            (api.destroy_options)(options);
            compiled?;
            let mut signature: Handle = std::ptr::null_mut();
            check(what, (api.get_signature)(self.model, 0, &mut signature), "GetModelSignature")?;
            let (mut n_in, mut n_out) = (0usize, 0usize);
            check(what, (api.num_inputs)(signature, &mut n_in), "GetNumSignatureInputs")?;
            check(what, (api.num_outputs)(signature, &mut n_out), "GetNumSignatureOutputs")?;
            for i in 0..n_in {
                let tensor = self.host_tensor(api.input_tensor, signature, i)?;
                self.inputs.push(tensor);
            }
            for i in 0..n_out {
                let tensor = self.host_tensor(api.output_tensor, signature, i)?;
                self.outputs.push(tensor);
            }
        }
        Ok(())
    }

    /// Host memory for tensor `index` of the signature, wrapped as a tensor buffer.
    ///
    /// # Safety
    /// `signature` is a live signature of this network's model and `get` one of the API's
    /// signature-tensor getters.
    unsafe fn host_tensor(
        &self,
        get: unsafe extern "C" fn(Handle, usize, *mut Handle) -> Status,
        signature: Handle,
        index: usize,
    ) -> Result<HostTensor, FaceError> {
        let what = self.what;
        let mut tensor: Handle = std::ptr::null_mut();
        // SAFETY: as the caller promises; the out-pointers are locals.
        unsafe {
            check(what, get(signature, index, &mut tensor), "GetSignatureTensorByIndex")?;
        }
        let mut ty = TensorType {
            element_type: 0,
            rank_bits: 0,
            dimensions: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        };
        // SAFETY: `tensor` was just handed out by the library.
        unsafe { check(what, (self.api.tensor_type)(tensor, &mut ty), "GetRankedTensorType")? };
        let len =
            ty.element_count().filter(|_| ty.element_type == ELEMENT_FLOAT32).ok_or_else(|| {
                FaceError::Model {
                    model: what,
                    message: "a tensor is not a fixed-size float32 tensor".into(),
                }
            })?;
        let mut memory =
            vec![Block([0.0; HOST_ALIGNMENT / 4]); (len * 4).div_ceil(HOST_ALIGNMENT).max(1)];
        let bytes = memory.len() * HOST_ALIGNMENT;
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: `memory` is 64-byte aligned, `bytes` long, and moves into the returned
        // tensor with the handle (a `Vec`'s heap block does not move when the `Vec` does).
        unsafe {
            check(
                what,
                (self.api.create_host_buffer)(
                    &ty,
                    memory.as_mut_ptr().cast(),
                    bytes,
                    None,
                    &mut handle,
                ),
                "CreateTensorBufferFromHostMemory",
            )?;
        }
        Ok(HostTensor { memory, len, handle })
    }

    /// The first input, to be filled before [`Network::run`].
    pub fn input_mut(&mut self) -> Result<&mut [f32], FaceError> {
        let what = self.what;
        self.inputs.first_mut().map(HostTensor::floats_mut).ok_or_else(|| FaceError::Model {
            model: what,
            message: "the model has no input".into(),
        })
    }

    pub fn run(&mut self) -> Result<(), FaceError> {
        let mut ins: Vec<Handle> = self.inputs.iter().map(|t| t.handle).collect();
        let mut outs: Vec<Handle> = self.outputs.iter().map(|t| t.handle).collect();
        // SAFETY: the compiled model and the buffers are live; the buffers' memory is owned by
        // `self` and outlives the call.
        let status = unsafe {
            (self.api.run)(
                self.compiled,
                0,
                ins.len(),
                ins.as_mut_ptr(),
                outs.len(),
                outs.as_mut_ptr(),
            )
        };
        check(self.what, status, "RunCompiledModel")
    }

    /// The output of `len` values (outputs are told apart by size, not by their order).
    pub fn output(&self, len: usize) -> Result<&[f32], FaceError> {
        self.outputs.iter().find(|t| t.len == len).map(HostTensor::floats).ok_or_else(|| {
            FaceError::Model { model: self.what, message: format!("no output of {len} values") }
        })
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // SAFETY: each handle was made by this network and is freed once, buffers first.
        unsafe {
            for t in self.inputs.iter().chain(&self.outputs) {
                (self.api.destroy_buffer)(t.handle);
            }
            if !self.compiled.is_null() {
                (self.api.destroy_compiled_model)(self.compiled);
            }
            if !self.model.is_null() {
                (self.api.destroy_model)(self.model);
            }
            if !self.environment.is_null() {
                (self.api.destroy_environment)(self.environment);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C structs' sizes as the library lays them out.
    #[test]
    fn structs_match_the_c_layout() {
        assert_eq!(std::mem::size_of::<TensorType>(), 72);
        assert_eq!(std::mem::size_of::<EnvOption>(), 24);
        assert_eq!(std::mem::align_of::<Block>(), HOST_ALIGNMENT);
        let mut ty = TensorType {
            element_type: 1,
            rank_bits: 4,
            dimensions: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        };
        ty.dimensions[..4].copy_from_slice(&[1, 192, 192, 3]);
        assert_eq!(ty.element_count(), Some(192 * 192 * 3));
        ty.dimensions[1] = -1;
        assert_eq!(ty.element_count(), None);
    }
}
