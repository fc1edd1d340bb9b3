//! resources layer (to be filled)
