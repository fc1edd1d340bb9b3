//! emulator layer (to be filled)
