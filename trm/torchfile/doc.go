// Package torchfile reads and writes PyTorch state dicts in the zip format
// of torch.save (PyTorch ≥ 1.6, the format of the official TRM checkpoints),
// without Python and without executing anything from the file.
//
// # The format
//
// torch.save(obj, path) writes a zip archive whose records all sit under one
// top-level folder, the archive name (the file's base name without its
// extension for torch 1.x, "archive" for newer versions):
//
//	<archive>/data.pkl      the object, pickled (protocol 2 by default)
//	<archive>/data/<key>    one record per storage: its raw little-endian bytes
//	<archive>/version       the format version, "3\n"
//	<archive>/byteorder     "little" (newer versions; absent means little)
//	(newer versions add .data/serialization_id, .format_version, ...)
//
// Records are stored uncompressed, each padded (with a zip extra field) so
// that its data starts at a multiple of 64 bytes. A state dict pickles as a
// collections.OrderedDict of name → tensor; a tensor as a call of
// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks) where backward_hooks is an empty
// OrderedDict and storage is a persistent id, the tuple
// ("storage", torch.<Type>Storage, key, location, numel) naming the record
// data/<key> of numel elements of the storage type's dtype (FloatStorage:
// float32, BFloat16Storage: bfloat16, HalfStorage: float16, ...). The
// OrderedDict may carry a BUILD with its _metadata attribute (module
// versions), which is ignored here.
//
// # Reading
//
// Decode unpickles data.pkl with github.com/nlpodyssey/gopickle, but only
// after checking every opcode: the pickle may use the plain-data opcodes of
// protocols 2–4 (containers, numbers, strings, the memo, frames), GLOBAL
// for the classes listed under Allowed, REDUCE, BUILD and BINPERSID —
// nothing else. INST, OBJ, NEWOBJ, STACK_GLOBAL, extension codes, buffers
// and any other class are refused with an error naming the opcode or the
// class and its offset. Nothing is ever called but the Go stand-ins for the
// allowed classes, which only build descriptors. The check follows the
// unpickler's stack, marks and memo with the kind of each value, so that
// REDUCE only calls an allowed class with a tuple and BUILD only sets the
// attributes of an OrderedDict, and it bounds the work: the values on the
// stack (MaxPickleStack), the open MARKs (MaxPickleMarks), the memo
// (MaxPickleMemo) and an estimate of the bytes unpickling allocates or
// hashes (MaxPickleWork), so that a pickle of DUPs, MARKs or MEMOIZEs is
// refused at once instead of taking gigabytes. Errors describe a value
// from the file by its type and length, or a string by its first bytes,
// never whole. The archive is refused
// when it is not a valid zip, a record is compressed (torch.save never
// compresses, so a compressed record is the mark of a zip bomb or a
// foreign file), records overlap or reach past the end of the file, a
// CRC-32 does not match, a storage record's size differs from what the
// pickle declares, a tensor is not contiguous or reaches past its storage,
// or a size is absurd (see the Max constants). Tensors of stored records
// share memory with the input, so a memory-mapped file is read without a
// copy.
//
// # Writing
//
// Encode writes the same layout: protocol 2 pickle of an OrderedDict of
// _rebuild_tensor_v2 tensors, one storage per tensor, records stored and
// 64-byte aligned, and a version record "3\n" plus byteorder "little". It
// is what torch.load of PyTorch 1.13 and 2.x accepts (checked by
// scripts/torch/check_export.py).
package torchfile
