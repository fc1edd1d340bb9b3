//! plugin layer (to be filled)
