//! The validation rules of the GraphQL specification, as graphql-js names
//! them, with their section of the specification (October 2021).
//!
//! A validation error carries its rule in `extensions.rule`, its section in
//! `extensions.number` and the section's URL in `extensions.specifiedBy`.

/// One validation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// graphql-js's name (`FieldsOnCorrectTypeRule`).
    pub name: &'static str,
    /// The section of the specification (`5.3.1`).
    pub section: &'static str,
    /// The anchor of that section.
    anchor: &'static str,
}

/// graphql-js's guard against deeply nested introspection queries.
pub const MAX_INTROSPECTION_DEPTH: Rule = Rule {
    name: "MaxIntrospectionDepthRule",
    section: "",
    anchor: "",
};

/// graphql-js's custom rule for servers that turn introspection off.
pub const NO_SCHEMA_INTROSPECTION: Rule = Rule {
    name: "NoSchemaIntrospectionCustomRule",
    section: "",
    anchor: "",
};

/// The edition of the specification that sections refer to.
pub const SPEC: &str = "https://spec.graphql.org/October2021/";

impl Rule {
    /// The URL of the rule's section.
    pub fn specified_by(&self) -> String {
        format!("{SPEC}#{}", self.anchor)
    }

    /// Attaches the rule to a validation error's extensions; rules that
    /// are graphql-js's own and not the specification's have no section.
    pub fn annotate(&self, error: errata_catalog::Error) -> errata_catalog::Error {
        let error = error.with_detail("rule", self.name);
        if self.section.is_empty() {
            return error;
        }
        error
            .with_detail("number", self.section)
            .with_detail("specifiedBy", self.specified_by())
    }
}

macro_rules! rules {
    ($($ident:ident = $name:literal, $section:literal, $anchor:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "`, section ", $section, ".")]
            pub const $ident: Rule = Rule { name: $name, section: $section, anchor: $anchor };
        )*
        /// Every rule, in the order of the specification.
        pub const ALL: &[Rule] = &[$($ident),*];
    };
}

rules! {
    EXECUTABLE_DEFINITIONS = "ExecutableDefinitionsRule", "5.1.1", "sec-Executable-Definitions";
    UNIQUE_OPERATION_NAMES = "UniqueOperationNamesRule", "5.2.1.1", "sec-Operation-Name-Uniqueness";
    LONE_ANONYMOUS_OPERATION = "LoneAnonymousOperationRule", "5.2.2.1", "sec-Lone-Anonymous-Operation";
    SINGLE_FIELD_SUBSCRIPTIONS = "SingleFieldSubscriptionsRule", "5.2.3.1", "sec-Single-root-field";
    FIELDS_ON_CORRECT_TYPE = "FieldsOnCorrectTypeRule", "5.3.1", "sec-Field-Selections";
    OVERLAPPING_FIELDS_CAN_BE_MERGED = "OverlappingFieldsCanBeMergedRule", "5.3.2", "sec-Field-Selection-Merging";
    SCALAR_LEAFS = "ScalarLeafsRule", "5.3.3", "sec-Leaf-Field-Selections";
    KNOWN_ARGUMENT_NAMES = "KnownArgumentNamesRule", "5.4.1", "sec-Argument-Names";
    UNIQUE_ARGUMENT_NAMES = "UniqueArgumentNamesRule", "5.4.2", "sec-Argument-Uniqueness";
    PROVIDED_REQUIRED_ARGUMENTS = "ProvidedRequiredArgumentsRule", "5.4.2.1", "sec-Required-Arguments";
    UNIQUE_FRAGMENT_NAMES = "UniqueFragmentNamesRule", "5.5.1.1", "sec-Fragment-Name-Uniqueness";
    KNOWN_TYPE_NAMES = "KnownTypeNamesRule", "5.5.1.2", "sec-Fragment-Spread-Type-Existence";
    FRAGMENTS_ON_COMPOSITE_TYPES = "FragmentsOnCompositeTypesRule", "5.5.1.3", "sec-Fragments-On-Composite-Types";
    NO_UNUSED_FRAGMENTS = "NoUnusedFragmentsRule", "5.5.1.4", "sec-Fragments-Must-Be-Used";
    KNOWN_FRAGMENT_NAMES = "KnownFragmentNamesRule", "5.5.2.1", "sec-Fragment-spread-target-defined";
    NO_FRAGMENT_CYCLES = "NoFragmentCyclesRule", "5.5.2.2", "sec-Fragment-spreads-must-not-form-cycles";
    POSSIBLE_FRAGMENT_SPREADS = "PossibleFragmentSpreadsRule", "5.5.2.3", "sec-Fragment-spread-is-possible";
    VALUES_OF_CORRECT_TYPE = "ValuesOfCorrectTypeRule", "5.6.1", "sec-Values-of-Correct-Type";
    UNIQUE_INPUT_FIELD_NAMES = "UniqueInputFieldNamesRule", "5.6.3", "sec-Input-Object-Field-Uniqueness";
    KNOWN_DIRECTIVES = "KnownDirectivesRule", "5.7.1", "sec-Directives-Are-Defined";
    UNIQUE_DIRECTIVES_PER_LOCATION = "UniqueDirectivesPerLocationRule", "5.7.3", "sec-Directives-Are-Unique-Per-Location";
    UNIQUE_VARIABLE_NAMES = "UniqueVariableNamesRule", "5.8.1", "sec-Variable-Uniqueness";
    VARIABLES_ARE_INPUT_TYPES = "VariablesAreInputTypesRule", "5.8.2", "sec-Variables-Are-Input-Types";
    NO_UNDEFINED_VARIABLES = "NoUndefinedVariablesRule", "5.8.3", "sec-All-Variable-Uses-Defined";
    NO_UNUSED_VARIABLES = "NoUnusedVariablesRule", "5.8.4", "sec-All-Variables-Used";
    VARIABLES_IN_ALLOWED_POSITION = "VariablesInAllowedPositionRule", "5.8.5", "sec-All-Variable-Usages-Are-Allowed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_unique_and_point_into_the_spec() {
        let mut names: Vec<&str> = ALL.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(
            FIELDS_ON_CORRECT_TYPE.specified_by(),
            "https://spec.graphql.org/October2021/#sec-Field-Selections"
        );
    }
}
