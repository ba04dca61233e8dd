//! The one end-to-end test binary (one binary links and runs faster than many).
//! Each module is an area: smoke, then the areas later issues add.

mod smoke;
