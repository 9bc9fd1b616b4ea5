//! `catalog!("path/to/catalog")`: compiles an errata catalog into typed Rust.
//!
//! The path is resolved like `include_str!`'s, relative to the file that
//! invokes the macro. The catalog is loaded and checked while compiling, so
//! an invalid catalog is a compile error that shows the same diagnostics as
//! `errata catalog check`. The expansion holds:
//! - `pub static CATALOG: errata_catalog::Catalog`, the whole catalog as
//!   static data: rendering a reference from it needs no file;
//! - a module per domain (and subdomain) with a constructor per error, named
//!   after the error and taking one argument per placeholder, in order of
//!   first appearance: `pages::not_found(path)`. An unknown error, or a
//!   missing or extra argument, does not compile;
//! - a `static` per error (`pages::NOT_FOUND`) for comparisons.
//!
//! Deprecated errors get `#[deprecated]`, so raising one warns.
//!
//! Every catalog file is also `include_str!`-ed, so editing one rebuilds the
//! crate. A newly added file is only seen after another file changes or the
//! crate is touched; a `build.rs` with `cargo:rerun-if-changed=DIR` covers it.
//!
//! Architecture invariant: the generated code depends on `errata-catalog`
//! alone, and this crate depends on nothing of errata but `errata-catalog`.

use std::path::{Path, PathBuf};

use errata_catalog::{Catalog, ErrorDef, Files, Segment, Template, load};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use syn::{LitStr, parse_macro_input};

/// Compiles the catalog directory at the given path. See the crate docs.
#[proc_macro]
pub fn catalog(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let path = parse_macro_input!(input as LitStr);
    let dir = resolve(&path.value());
    expand(&dir, &path.value(), path.span()).into()
}

fn resolve(path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let invoking_file = proc_macro::Span::call_site().local_file();
    let base = match invoking_file.as_deref().and_then(Path::parent) {
        Some(parent) if parent.is_absolute() => parent.to_path_buf(),
        // rustc reports paths relative to the directory it runs in.
        Some(parent) => std::env::current_dir().unwrap_or_default().join(parent),
        None => manifest_dir(),
    };
    base.join(path)
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from)
}

fn expand(dir: &Path, written: &str, span: Span) -> TokenStream {
    let mut files = match Files::read_dir(dir) {
        Ok(files) if files.manifest.is_some() => files,
        _ => {
            let message = format!(
                "cannot read the error catalog `{written}`: no such directory, or it has no catalog.toml \
                 (the path is relative to the file that invokes `catalog!`)"
            );
            return compile_error(span, &message);
        }
    };
    let tracked: Vec<TokenStream> = files
        .paths()
        .map(|p| {
            let absolute = std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
            let absolute = absolute.to_string_lossy().into_owned();
            quote! { const _: &str = ::core::include_str!(#absolute); }
        })
        .collect();
    let tracked = quote! { const _: () = { #(#tracked)* }; };
    // Diagnostics name files as the invocation does, so that they read the
    // same on every machine.
    let prefix = dir.display().to_string();
    files.rename(|path| path.replacen(&prefix, written.trim_end_matches('/'), 1));
    let catalog = match load(&files) {
        Ok(catalog) => catalog,
        Err(problems) => {
            let error = compile_error(
                span,
                &format!("the error catalog is invalid:\n\n{problems}"),
            );
            return quote! { #tracked #error };
        }
    };
    let data = catalog_data(&catalog);
    let modules = domain_modules(&catalog);
    quote! {
        #tracked
        #data
        #modules
    }
}

fn compile_error(span: Span, message: &str) -> TokenStream {
    quote::quote_spanned! { span => ::core::compile_error!(#message); }
}

fn text(s: &str) -> TokenStream {
    quote! { ::std::borrow::Cow::Borrowed(#s) }
}

fn opt_text(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => {
            let t = text(s);
            quote! { ::core::option::Option::Some(#t) }
        }
        None => quote! { ::core::option::Option::None },
    }
}

fn template(t: &Template) -> TokenStream {
    let source = text(&t.source);
    let segments = t.segments.iter().map(|s| match s {
        Segment::Text(s) => {
            let s = text(s);
            quote! { ::errata_catalog::Segment::Text(#s) }
        }
        Segment::Placeholder(i) => quote! { ::errata_catalog::Segment::Placeholder(#i) },
    });
    let placeholders = t.placeholders.iter().map(|p| text(p));
    quote! {
        ::errata_catalog::Template {
            source: #source,
            segments: ::std::borrow::Cow::Borrowed(&[#(#segments),*]),
            placeholders: ::std::borrow::Cow::Borrowed(&[#(#placeholders),*]),
        }
    }
}

fn error_def(e: &ErrorDef) -> TokenStream {
    let id = text(&e.id);
    let domain = text(&e.domain);
    let subdomain = opt_text(e.subdomain.as_deref());
    let code = e.code;
    let slug = text(&e.slug);
    let class = format_ident!("{}", format!("{:?}", e.class));
    let message = template(&e.message);
    let description = text(&e.description);
    let advice = format_ident!("{}", format!("{:?}", e.advice));
    let since = opt_text(e.since.as_deref());
    let deprecated = match &e.deprecated {
        Some(d) => {
            let since = text(&d.since);
            let replacement = opt_text(d.replacement.as_deref());
            quote! { ::core::option::Option::Some(::errata_catalog::Deprecation { since: #since, replacement: #replacement }) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let example = opt_text(e.example.as_deref());
    let translations = e.translations.iter().map(|t| {
        let locale = text(&t.locale);
        let message = template(&t.message);
        quote! { ::errata_catalog::Translation { locale: #locale, message: #message } }
    });
    quote! {
        ::errata_catalog::ErrorDef {
            id: #id,
            domain: #domain,
            subdomain: #subdomain,
            code: #code,
            slug: #slug,
            class: ::errata_catalog::Class::#class,
            message: #message,
            description: #description,
            advice: ::errata_catalog::Advice::#advice,
            since: #since,
            deprecated: #deprecated,
            example: #example,
            translations: ::std::borrow::Cow::Borrowed(&[#(#translations),*]),
        }
    }
}

fn catalog_data(catalog: &Catalog) -> TokenStream {
    let name = text(&catalog.name);
    let version = text(&catalog.version);
    let scheme = format_ident!("{}", format!("{:?}", catalog.scheme));
    let locales = catalog.locales.iter().map(|l| text(l));
    let domains = catalog.domains.iter().map(|d| {
        let name = text(&d.name);
        let code = d.code;
        let title = text(&d.title);
        let description = text(&d.description);
        let subdomains = d.subdomains.iter().map(|s| {
            let name = text(&s.name);
            let code = s.code;
            let title = text(&s.title);
            let description = text(&s.description);
            quote! { ::errata_catalog::Subdomain { name: #name, code: #code, title: #title, description: #description } }
        });
        quote! {
            ::errata_catalog::Domain {
                name: #name, code: #code, title: #title, description: #description,
                subdomains: ::std::borrow::Cow::Borrowed(&[#(#subdomains),*]),
            }
        }
    });
    let count = catalog.errors.len();
    let errors = catalog.errors.iter().map(error_def);
    let doc = format!(
        "The error catalog `{}` {}, compiled in: {} errors.",
        catalog.name, catalog.version, count
    );
    quote! {
        static ERRORS: [::errata_catalog::ErrorDef; #count] = [#(#errors),*];

        #[doc = #doc]
        pub static CATALOG: ::errata_catalog::Catalog = ::errata_catalog::Catalog {
            name: #name,
            version: #version,
            scheme: ::errata_catalog::Scheme::#scheme,
            locales: ::std::borrow::Cow::Borrowed(&[#(#locales),*]),
            domains: ::std::borrow::Cow::Borrowed(&[#(#domains),*]),
            errors: ::std::borrow::Cow::Borrowed(&ERRORS),
        };
    }
}

fn domain_modules(catalog: &Catalog) -> TokenStream {
    let modules = catalog.domains.iter().map(|domain| {
        let own = items(catalog, &domain.name, None, 1);
        let subs = domain.subdomains.iter().map(|sub| {
            let items = items(catalog, &domain.name, Some(&sub.name), 2);
            let ident = ident(&sub.name);
            let doc = format!("Errors of `{}.{}`: {}.", domain.name, sub.name, sub.title);
            quote! {
                #[doc = #doc]
                pub mod #ident {
                    #items
                }
            }
        });
        let ident = ident(&domain.name);
        let doc = format!("Errors of the `{}` domain: {}.", domain.name, domain.title);
        quote! {
            #[doc = #doc]
            pub mod #ident {
                #own
                #(#subs)*
            }
        }
    });
    quote! { #(#modules)* }
}

fn items(catalog: &Catalog, domain: &str, subdomain: Option<&str>, depth: usize) -> TokenStream {
    let supers = std::iter::repeat_n(quote! { super:: }, depth);
    let errors_path = quote! { #(#supers)* ERRORS };
    let items = catalog
        .errors
        .iter()
        .enumerate()
        .filter(|(_, e)| e.domain == domain && e.subdomain.as_deref() == subdomain)
        .map(|(index, e)| {
            let name = e.id.rsplit('.').next().unwrap_or(&e.id);
            let function = ident(name);
            let constant = format_ident!("{}", name.to_ascii_uppercase());
            let deprecated = e.deprecated.as_ref().map(|d| {
                let since = d.since.to_string();
                let note = match &d.replacement {
                    Some(r) => format!("raise `{r}` instead"),
                    None => "this error is being retired".to_owned(),
                };
                quote! { #[deprecated(since = #since, note = #note)] }
            });
            let doc = format!(
                "`{}` **{}** ({}, HTTP {}): {}\n\n{}",
                catalog.format_code(e.code),
                e.slug,
                e.class,
                e.class.status(),
                e.message.source,
                e.description
            );
            let params: Vec<Ident> = e.message.placeholders.iter().map(|p| ident(p)).collect();
            let body = if params.is_empty() {
                quote! { ::errata_catalog::Error::new(&#errors_path[#index]) }
            } else {
                quote! {
                    ::errata_catalog::Error::with_args(
                        &#errors_path[#index],
                        ::std::vec![#(::core::convert::Into::into(#params)),*],
                    )
                }
            };
            quote! {
                #[doc = #doc]
                #deprecated
                #[must_use]
                #[inline]
                pub fn #function(#(#params: impl ::core::convert::Into<::errata_catalog::Arg>),*) -> ::errata_catalog::Error {
                    #body
                }

                #[doc = #doc]
                #deprecated
                pub static #constant: &::errata_catalog::ErrorDef = &#errors_path[#index];
            }
        });
    quote! { #(#items)* }
}

/// An identifier for a snake_case catalog name, raw when it is a keyword.
fn ident(name: &str) -> Ident {
    const STRICT: &[&str] = &["self", "super", "crate", "Self"];
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern",
        "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe",
        "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
        "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    if STRICT.contains(&name) {
        format_ident!("{}_", name)
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        format_ident!("{}", name)
    }
}
