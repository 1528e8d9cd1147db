// Package progenv finds, for the example programs, what they load from
// outside the repository: the dlib model files and the shared face photos.
//
// # Basics
//
// Each location comes from a flag, else an environment variable, else a path
// relative to the working directory. The program's main function passes its
// environment (os.Getenv) down; nothing in this package reads the process
// environment itself, and nothing finds a default through the location of
// the source tree:
//
//	models := progenv.ModelsDir(*modelsFlag, os.Getenv) // --models, $FACEOPTOUT_MODELS, ./models
//	if err := progenv.CheckModels(models); err != nil { ... }
//	faces := progenv.FacesDir(*facesFlag, os.Getenv)    // --faces, $FACEOPTOUT_FACES, ../shared/faces
//
// # Caveats
//
// The defaults relative to the working directory suit a program run from the
// repository's root (as make demo does). Tests do not use this package: they
// find models and faces through internal/testenv, which programs never link
// (programs_test.go fails if a program under examples/ depends on package
// testing).
//
// # Security Considerations
//
// The paths come from the operator (flags and environment), never from
// requests; they are not sanitised.
package progenv
