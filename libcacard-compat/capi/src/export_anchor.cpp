// libcacard.so is all archive members (linked whole); a translation unit of its own keeps
// CMake content with a shared library target.
extern "C" {
}
