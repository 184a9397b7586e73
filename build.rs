//! Links PocketSphinx for phone recognition (feature `phonetic`) and records where its model
//! lives.

fn main() {
    if std::env::var_os("CARGO_FEATURE_PHONETIC").is_none() {
        return;
    }
    let library = pkg_config::Config::new().probe("pocketsphinx").unwrap_or_else(|e| {
        panic!(
            "feature `phonetic` needs PocketSphinx (Debian: apt-get install libpocketsphinx-dev \
             pocketsphinx-en-us), or build with --no-default-features: {e}"
        )
    });
    drop(library);
    let model_dir = pkg_config::get_variable("pocketsphinx", "modeldir")
        .unwrap_or_else(|_| "/usr/share/pocketsphinx/model".to_string());
    println!("cargo:rustc-env=AVSYNC_POCKETSPHINX_MODEL_DIR={model_dir}");
}
