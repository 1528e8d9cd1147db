package onnx

import "errors"

var (
	// ErrConfig is wrapped by the errors New returns for an invalid Config.
	ErrConfig = errors.New("onnx: invalid config")
	// ErrLibrary means the ONNX Runtime shared library is missing, is not
	// the pinned file, cannot be loaded, or another library is already
	// loaded in the process.
	ErrLibrary = errors.New("onnx: ONNX Runtime library unusable (run ./scripts/fetch-onnx.sh or set Config.Library)")
	// ErrModel means a model file is missing, unreadable, not the pinned
	// file, or does not take and give what its description says.
	ErrModel = errors.New("onnx: model file missing or unusable (run ./scripts/fetch-onnx.sh or set Config.ModelsDir)")
	// ErrRuntime wraps a failure of ONNX Runtime while describing a face.
	ErrRuntime = errors.New("onnx: inference failed")
	// ErrDescriptor means the model gave a descriptor that cannot be
	// normalised (not finite, or zero).
	ErrDescriptor = errors.New("onnx: unusable descriptor")
	// ErrAlign means a face's landmarks give no usable alignment (points
	// collapsed, or a chip that lies outside the image).
	ErrAlign = errors.New("onnx: face cannot be aligned")
)
